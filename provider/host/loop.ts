/**
 * Loop devices. Attachment asks for direct I/O (about 5x the write speed of the default mode here, since
 * pages are not cached twice); the backing file of every loop device is read from /sys, so finding an
 * image's device spawns nothing.
 */
import * as fs from 'node:fs';
import { HoststoreError } from '../errors.js';
import { CommandError, run } from '../exec.js';
import { filesystemSectorSize } from './fs-sector-size.js';

const DELETED = ' (deleted)';

function sysName(device: string): string {
  return device.replace(/^\/dev\//, '');
}

/**
 * The backing file of a loop device as the kernel reports it, or undefined if the device is free or
 * absent. The kernel appends " (deleted)" when the file was unlinked while attached; that is kept here
 * so the caller can tell an orphan from a live attachment (see loopsFor / orphanLoopsFor).
 */
export function loopBackingFile(device: string): string | undefined {
  try {
    // Only the trailing newline is sysfs's; a path may itself end in spaces.
    const text = fs.readFileSync(`/sys/block/${sysName(device)}/loop/backing_file`, 'utf8').replace(/\n$/, '');
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

/** Whether the loop device is running in direct-I/O mode (the kernel may silently decline it). */
export function loopDirectIo(device: string): boolean {
  try {
    return fs.readFileSync(`/sys/block/${sysName(device)}/loop/dio`, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

function attachedLoops(): Array<{ device: string; backing: string }> {
  let names: string[];
  try {
    names = fs.readdirSync('/sys/block').filter((n) => /^loop\d+$/.test(n));
  } catch {
    return [];
  }
  const found: Array<{ device: string; backing: string }> = [];
  for (const name of names.sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))) {
    // A node with nothing attached has no loop/ directory: skipped without the thrown ENOENT reading it costs
    // (hosts keep dozens of free nodes, and every handler process scans them).
    if (!fs.existsSync(`/sys/block/${name}/loop`)) continue;
    const backing = loopBackingFile(name);
    if (backing !== undefined) found.push({ device: `/dev/${name}`, backing });
  }
  return found;
}

function realpathOr(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

/**
 * Loop devices backed by `image` as it is now (path resolved through symlinks). A device whose file was
 * deleted (even if a new image now has the same path) is not one of them: it holds the old inode.
 */
export function loopsFor(image: string): string[] {
  const real = realpathOr(image);
  return attachedLoops()
    .filter((l) => l.backing === real)
    .map((l) => l.device);
}

/**
 * Loop devices whose backing file is this inode, whatever path it was attached by (a bind mount, a
 * container's view, a name it had before a rename): sysfs gives only that path, losetup the inode
 * (LOOP_GET_STATUS64). Slower than loopsFor (it spawns losetup); for checks that must not miss one.
 */
export async function loopsHolding(stat: fs.Stats): Promise<string[]> {
  let listed: { loopdevices?: Array<{ name?: string; 'back-ino'?: number | string; 'back-maj:min'?: string }> };
  try {
    listed = JSON.parse(
      (await run('losetup', ['--list', '--json', '--output', 'NAME,BACK-INO,BACK-MAJ:MIN'])).stdout || '{}',
    );
  } catch (error) {
    // No loop device at all: losetup prints nothing.
    if (error instanceof SyntaxError) return [];
    throw error;
  }
  // glibc's gnu_dev_major / gnu_dev_minor of st_dev.
  const dev = BigInt(stat.dev);
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return (listed.loopdevices ?? [])
    .filter(
      (l) => String(l['back-ino']) === String(stat.ino) && (l['back-maj:min'] ?? '').trim() === `${major}:${minor}`,
    )
    .map((l) => String(l.name));
}

/**
 * Loop devices still holding a deleted file that was at `image`'s path: orphans to detach. Matched by
 * path only, since sysfs gives no inode; a file literally named "x (deleted)" would confuse it.
 */
export function orphanLoopsFor(image: string): string[] {
  const real = realpathOr(image);
  return attachedLoops()
    .filter((l) => l.backing === real + DELETED)
    .map((l) => l.device);
}

export interface AttachedLoop {
  readonly device: string;
  /** False when the backing filesystem refused O_DIRECT and the device runs buffered. */
  readonly directIo: boolean;
}

/**
 * Attaches `image` to a free loop device with direct I/O. A backing filesystem that refuses O_DIRECT
 * (ramfs, some FUSE and network filesystems) fails the setup with EINVAL; then it attaches buffered.
 * `directIo` reports what the kernel actually did. The caller makes sure the image is not attached yet.
 *
 * For direct I/O the kernel gives the device the logical sector size of the disk under the image (4 KiB
 * on a 4Kn disk), and a filesystem made with smaller sectors (xfs made before hoststore asked mkfs for
 * 4 KiB ones: 512) would not mount there. Such an image is attached with its own sector size, which the
 * kernel serves buffered on a 4 KiB disk; on a 512-byte disk that is the size it picks anyway.
 */
export async function attachLoop(image: string, options: { readOnly?: boolean } = {}): Promise<AttachedLoop> {
  const sector = filesystemSectorSize(image);
  const base = [
    '--find',
    '--show',
    ...(options.readOnly ? ['--read-only'] : []),
    ...(sector !== undefined && sector < 4096 ? ['--sector-size', String(sector)] : []),
  ];
  let device: string;
  try {
    device = (await run('losetup', [...base, '--direct-io=on', image])).stdout.trim();
  } catch (error) {
    if (!(error instanceof CommandError) || !/Invalid argument|direct io/i.test(error.stderr)) throw error;
    // losetup cleans up after a failed setup, but never leave a second device on the image.
    const leftover = loopsFor(image);
    if (leftover.length > 0) return { device: leftover[0], directIo: loopDirectIo(leftover[0]) };
    device = (
      await run('losetup', [...base, image]).catch(() => {
        throw error;
      })
    ).stdout.trim();
  }
  return { device, directIo: loopDirectIo(device) };
}

/**
 * Detaches a loop device; succeeds when it is already free. The kernel answers a detach of a device still
 * in use (mounted) with success and only marks it to free itself when released; that is reported as an
 * error here, since the device is still there.
 */
export async function detachLoop(device: string): Promise<void> {
  if (loopBackingFile(device) === undefined) return;
  try {
    await run('losetup', ['--detach', device], { stdout: 'discard' });
  } catch (error) {
    // Lost a race with another detach: fine.
    if (loopBackingFile(device) === undefined) return;
    throw error;
  }
  if (loopBackingFile(device) !== undefined) {
    throw new HoststoreError(
      `${device} is still in use (mounted?), so it stays attached to ${loopBackingFile(device)} until released; the kernel will detach it then`,
    );
  }
}

/** Tells the loop device its backing file grew (losetup --set-capacity). */
export async function refreshLoopCapacity(device: string): Promise<void> {
  await run('losetup', ['--set-capacity', device]);
}
