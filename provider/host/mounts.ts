/**
 * Mounts: the mount table read from /proc/self/mountinfo (no spawn), mount/bind/remount/unmount through
 * mount(8), and mount targets created without ever following a symlink out of the root.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Filesystem } from '../../src/schema.js';
import { RefusedError } from '../errors.js';
import { CommandError, run } from '../exec.js';
import { lstatOrUndefined } from './files.js';

export interface MountEntry {
  readonly id: number;
  readonly parentId: number;
  readonly majorMinor: string;
  /** The directory of the source filesystem that is mounted here (`/` unless a bind of a subtree). */
  readonly root: string;
  readonly target: string;
  /** Per-mount options (`rw,nosuid,relatime`); `readOnly` is whether they hold `ro`. */
  readonly options: string;
  readonly readOnly: boolean;
  readonly fstype: string;
  readonly source: string;
  /** Per-superblock options (`rw,attr2,inode64`). */
  readonly superOptions: string;
}

/** mountinfo escapes space, tab, newline and backslash as three octal digits (\040, \011, \012, \134). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * Parses the text of /proc/<pid>/mountinfo: `id parent major:minor root target options [optional...] -
 * fstype source superOptions`. Paths are escaped by the kernel, so splitting on spaces is exact.
 */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator < 0 || fields.length < separator + 3) continue;
    const [fstype, source, superOptions] = fields.slice(separator + 1);
    entries.push({
      id: Number(fields[0]),
      parentId: Number(fields[1]),
      majorMinor: fields[2],
      root: unescape(fields[3]),
      target: unescape(fields[4]),
      options: fields[5],
      readOnly: fields[5].split(',').includes('ro'),
      fstype: unescape(fstype),
      source: unescape(source),
      superOptions: superOptions ?? '',
    });
  }
  return entries;
}

export function readMountTable(): MountEntry[] {
  return parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** The visible (topmost) mount at exactly `target`, or undefined; later entries stack on earlier ones. */
export function mountAt(target: string, table: readonly MountEntry[] = readMountTable()): MountEntry | undefined {
  const wanted = path.resolve(target);
  for (let i = table.length - 1; i >= 0; i -= 1) if (table[i].target === wanted) return table[i];
  return undefined;
}

export function isMountpoint(target: string, table?: readonly MountEntry[]): boolean {
  return mountAt(target, table) !== undefined;
}

/**
 * Every mount hoststore makes: storage is data, never a way to gain privileges, so setuid bits and
 * device files on it are ignored (an image or directory someone planted cannot give them root).
 */
export const SAFE_FLAGS = ['nosuid', 'nodev'] as const;

/** Mounts a block device (a loop device) at an existing directory. */
export async function mountDevice(
  device: string,
  target: string,
  filesystem: Filesystem,
  options: { readOnly: boolean },
): Promise<void> {
  // A storage restored from a snapshot is a clone with its source's UUID; xfs refuses a second mount
  // of one UUID unless told not to check.
  const flags = [options.readOnly ? 'ro' : 'rw', ...SAFE_FLAGS, ...(filesystem === 'xfs' ? ['nouuid'] : [])].join(',');
  await run('mount', ['--no-canonicalize', '-t', filesystem, '-o', flags, device, target], { stdout: 'discard' });
}

/**
 * Binds `source` at `target`. A bind ignores `ro` on the first call, so a read-only bind is a bind
 * followed by a remount; if the remount fails the bind is undone rather than left writable.
 */
export async function bindMount(source: string, target: string, options: { readOnly: boolean }): Promise<void> {
  // A bind keeps its source's flags, and a directory volume's source is the host's own filesystem, so
  // nosuid,nodev (and ro) are set on every bind: mount(8) binds, then remounts the bind with them. If
  // that fails half way, the bind it made is undone rather than left without them.
  const before = mountAt(target)?.id;
  try {
    await run(
      'mount',
      ['--no-canonicalize', '--bind', '-o', [options.readOnly ? 'ro' : 'rw', ...SAFE_FLAGS].join(','), source, target],
      { stdout: 'discard' },
    );
  } catch (error) {
    if (mountAt(target)?.id !== before) await run('umount', ['--no-canonicalize', target]).catch(() => undefined);
    throw error;
  }
}

/**
 * Switches a mount between read-only and read-write. `bind: true` changes only this mount point (the
 * per-mount flag); `bind: false` changes the filesystem itself (every mount of it).
 */
export async function remount(target: string, options: { readOnly: boolean; bind: boolean }): Promise<void> {
  // The flags are given again: a remount sets the mount's flags to exactly those it is given.
  await run(
    'mount',
    [
      '--no-canonicalize',
      '-o',
      `remount,${options.bind ? 'bind,' : ''}${options.readOnly ? 'ro' : 'rw'},${SAFE_FLAGS.join(',')}`,
      target,
    ],
    { stdout: 'discard' },
  );
}

/** Unmounts the top mount at `target`; succeeds when nothing is mounted there (also after a lost race). */
export async function unmount(target: string, options: { lazy?: boolean } = {}): Promise<void> {
  if (!isMountpoint(target)) return;
  try {
    await run('umount', ['--no-canonicalize', ...(options.lazy ? ['--lazy'] : []), target], { stdout: 'discard' });
  } catch (error) {
    if (error instanceof CommandError && /not mounted/.test(error.stderr) && !isMountpoint(target)) return;
    throw error;
  }
}

/**
 * Makes sure `target` is a real directory inside `within` and returns its absolute path, creating what
 * is missing one component at a time. Refuses when `target` is `within` itself or outside it, or when
 * any component below `within` is a symlink (it could point anywhere: /etc, another replica's data) or
 * not a directory. `within` itself is created if missing and trusted as it is.
 */
export async function safeMountTarget(within: string, target: string): Promise<string> {
  const base = path.resolve(within);
  const wanted = path.resolve(base, target);
  const relative = path.relative(base, wanted);
  if (relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
    throw new RefusedError(`refusing to mount at ${target}: it is not inside the root ${base}`);
  }
  fs.mkdirSync(base, { recursive: true });
  let current = base;
  for (const part of relative.split(path.sep)) {
    current = path.join(current, part);
    let stat = lstatOrUndefined(current);
    if (!stat) {
      try {
        fs.mkdirSync(current, { mode: 0o755 });
      } catch (error) {
        // Someone made it meanwhile: judge what they made.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      stat = lstatOrUndefined(current);
    }
    if (stat?.isSymbolicLink()) {
      throw new RefusedError(
        `refusing to mount at ${target}: ${current} is a symlink (to ${readlinkOr(current)}); hoststore only mounts on real directories inside its root`,
      );
    }
    if (!stat?.isDirectory()) throw new RefusedError(`refusing to mount at ${target}: ${current} is not a directory`);
  }
  return wanted;
}

function readlinkOr(file: string): string {
  try {
    return fs.readlinkSync(file);
  } catch {
    return '?';
  }
}
