/**
 * Which hoststore root, if any, a path lies in: storage there belongs to that root, its registry and its
 * lock, and is moved only by that root's own commands.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A root is marked by its `registry/` directory next to `disks/` or `projects/`, or by its lock file. */
function isHoststoreRoot(dir: string): boolean {
  const isDir = (name: string) => {
    try {
      return fs.lstatSync(path.join(dir, name)).isDirectory();
    } catch {
      return false; // absent, or `dir` is a file (ENOTDIR)
    }
  };
  if (!isDir('registry')) return false;
  return (
    isDir('disks') ||
    isDir('projects') ||
    fs.lstatSync(path.join(dir, 'registry', 'lock'), { throwIfNoEntry: false }) !== undefined
  );
}

/** The nearest hoststore root that is `file` or an ancestor of it (an absolute, real path), or undefined. */
export function hoststoreRootAround(file: string): string | undefined {
  for (let dir = file; ; dir = path.dirname(dir)) {
    if (isHoststoreRoot(dir)) return dir;
    if (dir === path.dirname(dir)) return undefined;
  }
}
