/**
 * The saved plan's file (`plan --out FILE`, `apply FILE`), often in a directory others can write (/tmp):
 * written as a new file of root's alone, never through what was at its name, and applied only when no one
 * but its owner could have changed what it applies.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RefusedError } from '../errors.js';
import { replaceFileAtomically } from '../host/files.js';

/** Writes `text` to a fresh 0600 file and renames it over `file`: a symlink or someone's file there is replaced, not written through. */
export function writeSavedPlan(file: string, text: string): void {
  replaceFileAtomically(path.resolve(file), text, 0o600);
}

/** Refuses a saved plan that is a symlink, or that another user owns or may write (they could have edited it). */
export function checkSavedPlan(file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    return; // reading it reports what is wrong
  }
  const uid = process.getuid?.() ?? 0;
  const mode = (stat.mode & 0o7777).toString(8).padStart(4, '0');
  const why = stat.isSymbolicLink()
    ? 'is a symlink'
    : stat.uid !== uid
      ? `is owned by uid ${stat.uid}${stat.uid === 65534 ? ' (nobody)' : ''}, not by you (uid ${uid})`
      : (stat.mode & 0o022) !== 0
        ? `is writable by group or others (mode ${mode})`
        : undefined;
  if (why)
    throw new RefusedError(
      `refusing to apply the saved plan ${file}: it ${why}, so someone else could have changed what it applies; run hoststore plan --out again and apply that`,
    );
}
