/**
 * Reading a synth output (`--app`), which another user may have written: only files that really lie in it
 * (no `..`, no symlink out of it) are read, and a file that is not JSON is named without echoing its content.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SpecError } from '../errors.js';

/** Parses `relative` (a path the synth output itself names) as JSON, refusing anything outside `appDir`. */
export function readSynthJson(appDir: string, relative: string, what: string): unknown {
  const base = fs.realpathSync(appDir);
  const wanted = path.resolve(base, String(relative));
  let real: string;
  try {
    real = fs.realpathSync(wanted);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new SpecError(`${wanted} (${what}) does not exist; run cdktf synth again, or pass the right --app`);
    throw error;
  }
  if (!real.startsWith(`${base}${path.sep}`)) {
    throw new SpecError(
      `refusing ${wanted} (${what}): it leads outside the synth output ${base} (to ${real}); a synth output's files lie in it. Run cdktf synth again, or pass the right --app`,
    );
  }
  const text = fs.readFileSync(real, 'utf8');
  try {
    return JSON.parse(text);
  } catch {
    // The parser's message quotes the text it stopped at: never echo what a file holds.
    throw new SpecError(`${wanted} (${what}) is not valid JSON; run cdktf synth again, or pass the right --app`);
  }
}
