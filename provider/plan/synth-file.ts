/**
 * Reading a synth output (`--app`), which another user may have written: only files that really lie in it
 * (no `..`, no symlink out of it) are read, and a file that is not JSON is named without echoing its content.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RefusedError, SpecError } from '../errors.js';

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

/**
 * Refuses a synth output file that names the hosts hoststore connects to (with the caller's keys) unless only
 * the caller or root can change it: the file and every directory above it are owned by the caller or root and
 * not writable by group or others (a root-owned sticky directory such as /tmp excepted: others cannot rename
 * what is in it). Another user's or a world-writable cdktf.out could otherwise send the caller's ssh, with a
 * key path of their choosing, to a host of theirs.
 */
export function checkSynthFileOwn(appDir: string, relative: string, what: string): void {
  const real = fs.realpathSync(path.resolve(fs.realpathSync(appDir), String(relative)));
  const me = process.getuid?.() ?? 0;
  const parts = real.split('/').filter(Boolean);
  let current = '/';
  for (let i = 0; i <= parts.length; i += 1) {
    if (i > 0) current = path.join(current, parts[i - 1]);
    const stat = fs.lstatSync(current);
    const stickyRoot = stat.isDirectory() && stat.uid === 0 && (stat.mode & 0o1000) !== 0;
    const why =
      stat.uid !== me && stat.uid !== 0
        ? `is owned by uid ${stat.uid}, not by you (uid ${me}) or root`
        : (stat.mode & 0o022) !== 0 && !stickyRoot
          ? `is writable by group or others (mode ${(stat.mode & 0o7777).toString(8).padStart(4, '0')})`
          : undefined;
    if (why)
      throw new RefusedError(
        `refusing ${real} (${what}): it names the hosts hoststore connects to with your ssh keys, and ${current} ${why}, so someone else could choose them; synth the app again as yourself in a directory only you can change, or pass --app`,
      );
  }
}
