/**
 * Mounts: the mount table read from /proc/self/mountinfo (no spawn), mount/bind/remount/unmount through
 * mount(8), and mount targets created without ever following a symlink out of the root.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Filesystem } from '../../src/schema.js';
import { HoststoreError } from '../errors.js';
import { run } from '../exec.js';

export interface MountEntry {
  readonly id: number;
  readonly parentId: number;
  readonly majorMinor: string;
  /** The directory of the source filesystem that is mounted here (`/` unless a bind of a subtree). */
  readonly root: string;
  readonly target: string;
  readonly options: string;
  readonly readOnly: boolean;
  readonly fstype: string;
  readonly source: string;
  readonly superOptions: string;
}

/** mountinfo escapes space, tab, newline and backslash as octal (\040 ...). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [left, right] = line.split(' - ');
    if (right === undefined) continue;
    const f = left.split(' ');
    const [fstype, source, superOptions] = right.split(' ');
    entries.push({
      id: Number(f[0]), parentId: Number(f[1]), majorMinor: f[2], root: unescape(f[3]), target: unescape(f[4]),
      options: f[5], readOnly: f[5].split(',').includes('ro'), fstype, source: unescape(source ?? ''), superOptions: superOptions ?? '',
    });
  }
  return entries;
}

export function readMountTable(): MountEntry[] {
  return parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
}

export function isMountpoint(target: string): boolean {
  return readMountTable().some((entry) => entry.target === target);
}

export async function mountDevice(device: string, target: string, filesystem: Filesystem, options: { readOnly: boolean }): Promise<void> {
  await run('mount', ['-t', filesystem, '-o', options.readOnly ? 'ro' : 'rw', device, target]);
}

/** Binds `source` at `target`; a read-only bind needs a second, remounting step. */
export async function bindMount(source: string, target: string, options: { readOnly: boolean }): Promise<void> {
  await run('mount', ['--bind', source, target]);
  if (options.readOnly) {
    try {
      await run('mount', ['-o', 'remount,bind,ro', target]);
    } catch (error) {
      await run('umount', [target]);
      throw error;
    }
  }
}

export async function remount(target: string, options: { readOnly: boolean; bind: boolean }): Promise<void> {
  await run('mount', ['-o', `remount,${options.bind ? 'bind,' : ''}${options.readOnly ? 'ro' : 'rw'}`, target]);
}

/** Unmounts the top mount at `target`; succeeds when nothing is mounted there. */
export async function unmount(target: string): Promise<void> {
  if (!isMountpoint(target)) return;
  await run('umount', [target]);
}

/**
 * Makes sure `target` is a directory inside `within`, creating what is missing, and refuses when any
 * component below `within` is a symlink (it could point anywhere: /etc, another replica's data).
 */
export async function safeMountTarget(within: string, target: string): Promise<void> {
  const relative = path.relative(within, target);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new HoststoreError(`mount target ${target} is not inside the root ${within}`, 3);
  }
  fs.mkdirSync(within, { recursive: true });
  let current = within;
  for (const part of relative.split(path.sep)) {
    current = path.join(current, part);
    let stat: fs.Stats | undefined;
    try {
      stat = fs.lstatSync(current);
    } catch {
      stat = undefined;
    }
    if (stat?.isSymbolicLink()) {
      throw new HoststoreError(`refusing to mount at ${target}: ${current} is a symlink (to ${fs.readlinkSync(current)}); hoststore only mounts on real directories inside its root`, 3);
    }
    if (stat && !stat.isDirectory()) throw new HoststoreError(`refusing to mount at ${target}: ${current} is not a directory`, 3);
    if (!stat) fs.mkdirSync(current, { mode: 0o755 });
  }
}
