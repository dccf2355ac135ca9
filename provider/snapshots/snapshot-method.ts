/**
 * How a root takes snapshots and how long a mounted filesystem stays frozen for one: a reflink (shared
 * extents, near-constant time) where the root's filesystem can clone files, else a sparse copy whose
 * time follows the data. Probed with a real clone of a tiny file (per snapshot, and once per root in a plan).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export type SnapshotMethod = 'reflink' | 'sparse-copy';

/**
 * Copy throughput assumed for a sparse copy while frozen: conservative for local SSDs (this VM copies
 * 200 MiB/s and more), so the estimate errs towards refusing; the copy is also stopped at the limit.
 */
export const SPARSE_COPY_BYTES_PER_SECOND = 100 * 1024 ** 2;
/** What a reflink capture of a mounted image is expected to freeze (measured 10 to 60 ms; see README). */
export const REFLINK_FREEZE_MS = 250;

/**
 * Whether files in `dir` (a directory hoststore owns) can be reflinked: clones a tiny file created
 * exclusively there (FICLONE, no process spawned), then removes both. Not remembered: it costs well
 * under a millisecond, and a device number is reused by the next filesystem mounted from that loop device.
 */
export function probeSnapshotMethod(dir: string): SnapshotMethod {
  const stem = path.join(dir, `.reflink-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  let method: SnapshotMethod;
  try {
    fs.writeFileSync(stem, Buffer.alloc(4096, 1), { flag: 'wx', mode: 0o600 });
    fs.copyFileSync(stem, `${stem}.clone`, fs.constants.COPYFILE_EXCL | fs.constants.COPYFILE_FICLONE_FORCE);
    method = 'reflink';
  } catch {
    method = 'sparse-copy';
  } finally {
    fs.rmSync(stem, { force: true });
    fs.rmSync(`${stem}.clone`, { force: true });
  }
  return method;
}

const FS_TYPES: Record<number, string> = {
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs',
};

/** The filesystem type of `dir` by its magic number (statfs), for messages and for guessing before a root exists. */
export function filesystemType(dir: string): string {
  const type = Number(fs.statfsSync(dir).type);
  return FS_TYPES[type] ?? `0x${type.toString(16)}`;
}

/** How long a capture of `bytes` allocated by `method` is expected to freeze the filesystem, in ms. */
export function expectedFreezeMs(method: SnapshotMethod, bytes: number): number {
  return method === 'reflink'
    ? REFLINK_FREEZE_MS
    : Math.max(REFLINK_FREEZE_MS, Math.ceil((bytes / SPARSE_COPY_BYTES_PER_SECOND) * 1000));
}

export function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
