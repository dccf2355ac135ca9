/** Making and growing filesystems: mkfs straight onto the image file, online grow, ext4's offline fallback. */
import * as fs from 'node:fs';
import type { Filesystem } from '../../src/schema.js';
import { CommandError, requireTool, run } from '../exec.js';

const MKFS: Record<Filesystem, string> = { ext4: 'mkfs.ext4', xfs: 'mkfs.xfs', btrfs: 'mkfs.btrfs' };
const LABEL_MAX: Record<Filesystem, number> = { ext4: 16, xfs: 12, btrfs: 255 };

/** Throws a MissingToolError naming the Debian package, before anything is created. */
export function requireMkfs(filesystem: Filesystem): void {
  requireTool(MKFS[filesystem], `format ${filesystem}`);
}

export async function formatImage(image: string, filesystem: Filesystem, label: string): Promise<void> {
  const name = label.slice(0, LABEL_MAX[filesystem]);
  switch (filesystem) {
    case 'ext4':
      // Lazy init keeps formatting cost independent of the nominal size (inode tables fill on first use).
      await run('mkfs.ext4', ['-q', '-F', '-L', name, '-E', 'lazy_itable_init=1,lazy_journal_init=1,nodiscard', image]);
      return;
    case 'xfs':
      await run('mkfs.xfs', ['-q', '-f', '-K', '-L', name, image]);
      return;
    case 'btrfs':
      await run('mkfs.btrfs', ['-q', '-f', '-K', '-L', name, image]);
      return;
  }
}

/** The kernel would not grow this filesystem while mounted (ext4 without CAP_SYS_RESOURCE here). */
export class OnlineGrowUnsupported extends Error {
  constructor(readonly cause: CommandError) {
    super(`online grow not permitted: ${cause.message}`);
    this.name = 'OnlineGrowUnsupported';
  }
}

/** Grows a mounted filesystem to fill its (already grown) device. */
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
        if (error instanceof CommandError) throw new OnlineGrowUnsupported(error);
        throw error;
      }
  }
}

/** Grows an unmounted ext4 filesystem (device or image file); xfs and btrfs only grow mounted. */
export async function growFilesystemOffline(filesystem: Filesystem, deviceOrImage: string): Promise<void> {
  if (filesystem !== 'ext4') throw new Error(`${filesystem} grows only while mounted`);
  // resize2fs insists on a freshly checked filesystem; e2fsck exit 1 means "errors corrected".
  await run('e2fsck', ['-f', '-p', deviceOrImage], { allowExitCodes: [1] });
  await run('resize2fs', [deviceOrImage]);
}

/** Size of a mounted filesystem in bytes, as the kernel reports it. */
export function filesystemSizeBytes(mountpoint: string): number {
  const stat = fs.statfsSync(mountpoint);
  return stat.blocks * stat.bsize;
}
