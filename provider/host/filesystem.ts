/** Making and growing filesystems: mkfs straight onto the image file, online grow, ext4's offline fallback. */
import type { Filesystem } from '../../src/schema.js';
import { HoststoreError } from '../errors.js';
import { CommandError, findTool, requireTool, run } from '../exec.js';

const MKFS: Record<Filesystem, string> = { ext4: 'mkfs.ext4', xfs: 'mkfs.xfs', btrfs: 'mkfs.btrfs' };
/** Label limits in bytes: ext4 16, xfs 12, btrfs 255. */
export const LABEL_MAX: Readonly<Record<Filesystem, number>> = { ext4: 16, xfs: 12, btrfs: 255 };

/** Throws a MissingToolError naming the Debian package; call it before anything is created. */
export function requireMkfs(filesystem: Filesystem): void {
  requireTool(MKFS[filesystem], `format ${filesystem}`);
}

/** A storage name cut to the filesystem's label limit (names are ASCII, so characters are bytes). */
export function labelFor(filesystem: Filesystem, name: string): string {
  return name.slice(0, LABEL_MAX[filesystem]);
}

export interface FormatOptions {
  /**
   * Give back the space mkfs.xfs preallocates for its zeroed log (~256 MB on a 500 GB image) by punching
   * the still-unwritten extents: they read as zeros either way, so the filesystem is byte-identical.
   * Default true; skipped quietly if filefrag or fallocate is missing.
   */
  readonly thin?: boolean;
}

/**
 * Formats an image file (not attached to anything) with `filesystem`, labelled with `label` cut to the
 * filesystem's limit. No discard (a sparse file has nothing to discard) and lazy ext4 initialisation,
 * so the cost does not grow with the nominal size.
 */
export async function formatImage(
  image: string,
  filesystem: Filesystem,
  label: string,
  options: FormatOptions = {},
): Promise<void> {
  const name = labelFor(filesystem, label);
  switch (filesystem) {
    case 'ext4':
      await run(
        'mkfs.ext4',
        ['-q', '-F', '-L', name, '-E', 'lazy_itable_init=1,lazy_journal_init=1,nodiscard', image],
        { stdout: 'discard' },
      );
      return;
    case 'xfs':
      // 4 KiB sectors: mountable on any disk under the image, 4Kn ones included (mkfs.xfs picks 512 for a file).
      await run('mkfs.xfs', ['-q', '-f', '-K', '-s', 'size=4096', '-L', name, image], { stdout: 'discard' });
      if (options.thin !== false) await punchUnwrittenExtents(image);
      return;
    case 'btrfs':
      await run('mkfs.btrfs', ['-q', '-f', '-K', '-L', name, image], { stdout: 'discard' });
      return;
  }
}

/** Punches holes over an unattached file's unwritten (preallocated, reads-as-zero) extents. */
export async function punchUnwrittenExtents(file: string): Promise<void> {
  if (!findTool('filefrag') || !findTool('fallocate')) return;
  const { stdout } = await run('filefrag', ['-v', '-b4096', file]);
  const ranges: Array<[number, number]> = [];
  // "   3: 65536007..65566719:   36243457..  36274169:  30713:             unwritten"
  for (const line of stdout.split('\n')) {
    const match = /^\s*\d+:\s+(\d+)\.\.\s*(\d+):.*\bunwritten\b/.exec(line);
    if (!match) continue;
    const start = Number(match[1]);
    const end = Number(match[2]) + 1;
    const last = ranges[ranges.length - 1];
    if (last && last[1] === start) last[1] = end;
    else ranges.push([start, end]);
  }
  for (const [start, end] of ranges) {
    await run('fallocate', [
      '--punch-hole',
      '--keep-size',
      '--offset',
      String(start * 4096),
      '--length',
      String((end - start) * 4096),
      file,
    ]);
  }
}

/** The kernel would not grow this filesystem while mounted (ext4's resize2fs gets EPERM here). */
export class OnlineGrowUnsupported extends Error {
  constructor(readonly cause: CommandError) {
    super(`online grow not permitted: ${cause.message}`);
    this.name = 'OnlineGrowUnsupported';
  }
}

const ONLINE_REFUSED = /Permission denied|Operation not permitted|not supported|Inappropriate ioctl/i;

/**
 * Grows a mounted filesystem to fill its device (grow the image and refresh the loop capacity first).
 * ext4 throws OnlineGrowUnsupported when the kernel refuses, so the caller can unmount and use
 * growFilesystemOffline; any other failure is a CommandError.
 */
export async function growFilesystemOnline(filesystem: Filesystem, device: string, mountpoint: string): Promise<void> {
  switch (filesystem) {
    case 'xfs':
      await run('xfs_growfs', [mountpoint]);
      return;
    case 'btrfs':
      await run('btrfs', ['filesystem', 'resize', 'max', mountpoint]);
      return;
    case 'ext4':
      try {
        await run('resize2fs', [device]);
      } catch (error) {
        if (error instanceof CommandError && ONLINE_REFUSED.test(error.stderr)) throw new OnlineGrowUnsupported(error);
        throw error;
      }
  }
}

/**
 * Grows an UNMOUNTED ext4 filesystem (loop device or image file) to fill it: e2fsck -f -p, then
 * resize2fs. xfs and btrfs only grow while mounted, so they are refused.
 */
export async function growFilesystemOffline(filesystem: Filesystem, deviceOrImage: string): Promise<void> {
  if (filesystem !== 'ext4') {
    throw new HoststoreError(`${filesystem} can only grow while mounted; mount it and use the online grow`);
  }
  // resize2fs insists on a freshly checked filesystem; e2fsck exit 1 means "errors corrected".
  await run('e2fsck', ['-f', '-p', deviceOrImage], { allowExitCodes: [1] });
  await run('resize2fs', [deviceOrImage]);
}
