/**
 * Removing a directory tree whose content a service owned (a directory volume): with GNU rm, which walks
 * by file descriptor and never follows a symlink swapped in while it runs. Node's recursive rm walks by
 * path, so a process still inside the tree (a container's own bind of it) could redirect it elsewhere.
 */
import * as fs from 'node:fs';
import { run } from '../exec.js';

/** Removes `target` (a file or a directory tree) and what is below it, staying on its filesystem; nothing when it is gone. */
export async function removeTree(target: string): Promise<void> {
  if (!fs.lstatSync(target, { throwIfNoEntry: false })) return;
  await run('rm', ['-rf', '--one-file-system', '--', target]);
}
