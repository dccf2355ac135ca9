/**
 * Where a file or directory is bind-mounted elsewhere: a mount whose source is it (or, for a directory,
 * something inside it). Found from /proc/self/mountinfo, whose `root` field is the mounted path within
 * its filesystem and whose major:minor names that filesystem.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MountEntry } from './mounts.js';

export interface BindMount {
  /** The bound path, relative to the file checked ('' when it is the file itself). */
  readonly inside: string;
  readonly target: string;
}

/** major:minor as mountinfo writes it, from a stat's dev (Linux's encoding, as glibc's major()/minor()). */
function majorMinor(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/**
 * Every mount, other than the one `file` is seen through, of `file` or of a path inside it. Undefined
 * if no mount of its filesystem is found on its path (then nothing can be said).
 */
export function bindMountsOf(file: string, table: readonly MountEntry[]): BindMount[] | undefined {
  const device = majorMinor(fs.statSync(file, { bigint: true }).dev);
  const covers = (target: string) => target === file || target === '/' || file.startsWith(`${target}/`);
  // The mount `file` is seen through: the deepest one on its path (the last, if stacked), of its device.
  let through: MountEntry | undefined;
  for (const entry of table)
    if (
      entry.majorMinor === device &&
      covers(entry.target) &&
      (!through || entry.target.length >= through.target.length)
    )
      through = entry;
  if (!through) return undefined;
  const inFilesystem = path.posix.join(through.root, path.relative(through.target, file));
  return table
    .filter(
      (e) =>
        e !== through &&
        e.majorMinor === device &&
        (e.root === inFilesystem || e.root.startsWith(`${inFilesystem === '/' ? '' : inFilesystem}/`)),
    )
    .map((e) => ({ inside: path.posix.relative(inFilesystem, e.root), target: e.target }));
}
