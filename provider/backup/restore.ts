/**
 * A backup brought back as new storage: an image streamed out of restic into a sparse file, a directory
 * restored under the root and moved into place, then checked against the checksum it was pushed with.
 * Never writes over anything: the target is made under a temporary name and renamed only when intact.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { HandlerContext } from '../handlers/handler.js';
import { RefusedError } from '../errors.js';
import { checkInsideRoot, makeRootDirectory } from '../host/root-trust.js';
import { syncDirectory } from '../host/files.js';
import { checksum } from '../snapshots/snapshots.js';
import type { BackupEntry } from './backups.js';
import { BackupError, dumpToSparseFile, restic, type ResticRepository } from './restic.js';

export interface RestoreResult {
  readonly target: string;
  readonly sha256: string;
  /** Bytes the new image allocates (a directory: undefined). */
  readonly allocatedBytes?: number;
}

/** Where a restore is written before it is checked: next to the target, a name no storage has. */
function temporaryFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.from-backup-${randomBytes(6).toString('hex')}`);
}

/**
 * Restores `entry` from `repository` as `target` (a layout path under the root that must not exist).
 * Throws RefusedError when the target exists or the restored content does not match the backup's
 * checksum (nothing is left behind), BackupError when the repository cannot be read.
 */
export async function restoreBackupTo(
  ctx: HandlerContext,
  repository: ResticRepository,
  entry: BackupEntry,
  target: string,
): Promise<RestoreResult> {
  checkInsideRoot(ctx.root, target);
  if (fs.existsSync(target) || fs.lstatSync(target, { throwIfNoEntry: false }))
    throw new RefusedError(`refusing to restore backup ${entry.shortId} over ${target}: it exists`);
  const dir = makeRootDirectory(ctx.root, path.dirname(target));
  const temporary = temporaryFor(target);
  try {
    if (entry.kind === 'directory') await restoreTree(ctx, repository, entry, temporary);
    else {
      await dumpToSparseFile(ctx.root, repository, entry.id, entry.path, temporary, entry.size);
      const size = fs.statSync(temporary).size;
      if (size !== entry.size)
        throw new RefusedError(
          `backup ${entry.shortId} of ${entry.kind} ${entry.storage} restored as ${size} bytes, but it was pushed as ${entry.size}; nothing was kept: run \`hoststore backup verify --read-data\``,
        );
      fs.chmodSync(temporary, 0o600);
    }
    const sum = await checksum(temporary);
    if (sum.sha256 !== entry.sha256)
      throw new RefusedError(
        `backup ${entry.shortId} of ${entry.kind} ${entry.storage} does not match the checksum it was pushed with (snapshot ${entry.snapshot}); nothing was kept: run \`hoststore backup verify --read-data\` and restore an older backup`,
      );
    const fd = fs.openSync(temporary, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    // Moved into place only if still nothing is there (link fails on an existing name; a directory is renamed after a check).
    if (entry.kind === 'directory') {
      if (fs.lstatSync(target, { throwIfNoEntry: false }))
        throw new RefusedError(`refusing to restore over ${target}: it exists`);
      fs.renameSync(temporary, target);
    } else {
      fs.linkSync(temporary, target);
      fs.rmSync(temporary, { force: true });
    }
    syncDirectory(dir);
    const allocatedBytes = entry.kind === 'directory' ? undefined : fs.statSync(target).blocks * 512;
    return { target, sha256: sum.sha256, allocatedBytes };
  } catch (error) {
    fs.rmSync(temporary, { recursive: true, force: true });
    if (error instanceof Error && (error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new RefusedError(`refusing to restore backup ${entry.shortId} over ${target}: it exists`);
    throw error;
  }
}

/** A directory backup: `restic restore --include <path>` under the root, then the tree moved out whole. */
async function restoreTree(
  ctx: HandlerContext,
  repository: ResticRepository,
  entry: BackupEntry,
  temporary: string,
): Promise<void> {
  // The recorded path is the repository's word (whoever writes there chooses it): joined onto the staging
  // directory, a `..` would name a directory anywhere on the host, which would then be moved and removed.
  if (!path.posix.isAbsolute(entry.path) || path.posix.normalize(entry.path) !== entry.path || entry.path === '/')
    throw new RefusedError(
      `backup repository ${repository.name} (${repository.url}): backup ${entry.shortId} records the path ${JSON.stringify(entry.path)}, which is not a normalized absolute path; refusing to restore it`,
    );
  const staging = `${temporary}.staging`;
  fs.mkdirSync(staging, { mode: 0o700 });
  try {
    await restic(ctx.root, repository, ['restore', entry.id, '--target', staging, '--include', entry.path]);
    const restored = path.join(staging, entry.path);
    // Every step from the staging directory a real directory: a symlink (restored from the backup) would
    // make the new storage a link to, or a path through, anywhere on the host.
    let current = staging;
    for (const part of entry.path.split('/').filter(Boolean)) {
      current = path.join(current, part);
      if (!fs.lstatSync(current, { throwIfNoEntry: false })?.isDirectory())
        throw new BackupError(
          `backup repository ${repository.name} (${repository.url}): backup ${entry.shortId} holds no directory ${entry.path} (a symlink or a file is not one); run \`hoststore backup verify\``,
        );
    }
    fs.renameSync(restored, temporary);
    // A snapshot's tree is read-only; the storage made from it is written again.
    makeWritable(temporary);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

function makeWritable(target: string): void {
  const stat = fs.lstatSync(target);
  if (stat.isSymbolicLink()) return;
  fs.chmodSync(target, stat.mode | 0o200);
  if (stat.isDirectory()) for (const entry of fs.readdirSync(target)) makeWritable(path.join(target, entry));
}
