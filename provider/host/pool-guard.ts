/**
 * The check every change to a root makes first (through the root lock): a root whose pool is not mounted
 * (after a reboot, before `hoststore up`) is an empty directory on the host filesystem, and must not be written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RefusedError } from '../errors.js';
import { isMountpoint } from './mounts.js';
import { commandHint } from '../command-hint.js';

/**
 * Why a file at the pool's name cannot be a pool hoststore made (a symlink, or not root's): in a parent
 * others may write (/tmp) anyone can create that name, and it must not stop the root. Undefined when it can be.
 */
export function foreignPoolFile(stat: fs.Stats): string | undefined {
  if (stat.isSymbolicLink()) return 'it is a symlink';
  return stat.uid !== 0 ? `it is owned by uid ${stat.uid}` : undefined;
}

/** Refuses when `<root>.pool.img` exists and the root is not a mount. One lstat when there is no pool. */
export function assertPoolMounted(root: string): void {
  const dir = path.resolve(root);
  const file = `${dir}.pool.img`;
  const stat = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!stat || foreignPoolFile(stat)) return;
  if (isMountpoint(dir)) return;
  throw new RefusedError(
    `the root ${dir} lives on the pool ${file}, which is not mounted (after a reboot?); nothing was changed; run ${commandHint(dir, 'up')} first`,
  );
}
