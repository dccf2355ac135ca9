/**
 * A snapshot-friendly root on a host whose filesystem cannot share extents (ext4): a btrfs filesystem in
 * a sparse pool file beside the root (`<root>.pool.img`), attached with direct I/O and mounted at the root,
 * as LXD does for loop-backed btrfs pools. Snapshots on it are reflinks. hoststore never deletes a pool.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkRootTrust } from './root-trust.js';
import { foreignPoolFile } from './pool-guard.js';
import { HoststoreError, RefusedError, UsageError } from '../errors.js';
import { CommandError, requireTool, run } from '../exec.js';
import { createSparseImage, GiB } from './image.js';
import { attachLoop, loopBackingFile, loopDirectIo, loopsFor } from './loop.js';
import { mountAt, readMountTable, unmount, type MountEntry } from './mounts.js';
import { lstatOrUndefined } from './files.js';
import { commandHint } from '../command-hint.js';

export const POOL_LABEL = 'hoststore-pool';
/** Whole GiB; a btrfs filesystem needs a few hundred MiB for itself. */
export const POOL_MIN_GB = 1;
export const POOL_MAX_GB = 1 << 20;
/**
 * Mount options. nosuid,nodev: nothing on the pool is a way to root. noatime: reads write no metadata.
 * discard=async: space freed inside the pool (a deleted disk or snapshot) is punched out of the pool
 * file, so the host gets it back (the kernel's default since 6.2; said here for older ones).
 */
export const POOL_MOUNT_OPTIONS = 'nosuid,nodev,noatime,discard=async';

export function poolFileFor(root: string): string {
  return `${path.resolve(root)}.pool.img`;
}

export interface PoolStatus {
  readonly root: string;
  readonly file: string;
  /** The pool file's nominal size and what it really takes on the host filesystem. */
  readonly sizeBytes: number;
  readonly allocatedBytes: number;
  readonly mounted: boolean;
  readonly device?: string;
  readonly directIo?: boolean;
  /** The btrfs filesystem's own view (statfs), when mounted. */
  readonly filesystemBytes?: number;
  readonly usedBytes?: number;
  readonly freeBytes?: number;
  /** Files made on the pool are nodatacow (chattr +C at its top), as LXD makes its VM disk files. */
  readonly nodatacow?: boolean;
  /** `cp --reflink=always` works on the mounted pool, so snapshots are reflinks. */
  readonly reflink?: boolean;
}

export interface PoolLog {
  (line: string): void;
}

/**
 * Refuses a pool file hoststore could not have made: a symlink, not a regular file, not owned by root,
 * writable by others or hard-linked elsewhere. Mounting a filesystem image someone else wrote would hand
 * them the root (its registry, its disks) and the kernel's btrfs parser.
 */
function checkPoolFile(file: string, stat: fs.Stats): void {
  const mode = (stat.mode & 0o7777).toString(8).padStart(4, '0');
  const fix = `hoststore makes it root-owned, mode 0600; move it away if it is not yours`;
  if (stat.isSymbolicLink())
    throw new RefusedError(`refusing pool file ${file}: it is a symlink (to ${fs.readlinkSync(file)}); ${fix}`);
  if (!stat.isFile()) throw new RefusedError(`refusing pool file ${file}: it is not a regular file; ${fix}`);
  if (stat.uid !== 0 || (stat.mode & 0o022) !== 0 || stat.nlink !== 1) {
    throw new RefusedError(
      `refusing pool file ${file}: owner uid ${stat.uid}, mode ${mode}, ${stat.nlink} link(s); the rule is owner root, not writable by group or others, one link; ${fix}`,
    );
  }
}

/** The mount of the pool at `root`, if the root is mounted from a loop device backed by its pool file. */
function poolMount(
  root: string,
  file: string,
  table: readonly MountEntry[] = readMountTable(),
): MountEntry | undefined {
  const entry = mountAt(root, table);
  if (!entry || entry.fstype !== 'btrfs') return undefined;
  return loopBackingFile(entry.source) === file ? entry : undefined;
}

async function hasPoolFilesystem(file: string): Promise<boolean> {
  const { stdout, exitCode } = await run('blkid', ['-p', '-o', 'value', '-s', 'TYPE', file], { allowExitCodes: [2] });
  return exitCode === 0 && stdout.trim() === 'btrfs';
}

function isEmptyDirectory(dir: string): boolean {
  return fs.readdirSync(dir).length === 0;
}

/**
 * Attaches the pool file (direct I/O, reusing a device already on it) and mounts it at `root`. The loop
 * device is then marked to free itself on unmount (`losetup --detach` on a busy device sets autoclear,
 * as LXD does), so `umount ROOT` alone releases everything.
 */
async function attachAndMount(root: string, file: string): Promise<{ device: string; directIo: boolean }> {
  const existing = loopsFor(file)[0];
  const attached = existing ? { device: existing, directIo: loopDirectIo(existing) } : await attachLoop(file);
  try {
    await run('mount', ['--no-canonicalize', '-t', 'btrfs', '-o', POOL_MOUNT_OPTIONS, attached.device, root], {
      stdout: 'discard',
    });
  } catch (error) {
    if (!existing) await run('losetup', ['--detach', attached.device]).catch(() => undefined);
    throw error;
  }
  await run('losetup', ['--detach', attached.device]).catch(() => undefined);
  return attached;
}

/** Marks a busy loop device to free itself on its last unmount (`losetup --detach` does that), unless it already does. */
async function markAutoclear(device: string): Promise<void> {
  let autoclear = '';
  try {
    autoclear = fs.readFileSync(`/sys/block/${path.basename(device)}/loop/autoclear`, 'utf8').trim();
  } catch {
    /* unknown: mark it */
  }
  if (autoclear !== '1') await run('losetup', ['--detach', device]).catch(() => undefined);
}

/** Whether `cp --reflink=always` shares extents at `dir` (a 64 KiB probe, too big to be stored inline). */
export async function reflinkWorks(dir: string): Promise<boolean> {
  const probe = path.join(dir, `.hoststore-reflink-probe.${process.pid}`);
  const copy = `${probe}.copy`;
  try {
    fs.writeFileSync(probe, Buffer.alloc(64 * 1024, 1), { flag: 'wx', mode: 0o600 });
    await run('cp', ['--reflink=always', probe, copy]);
    return true;
  } catch (error) {
    if (error instanceof CommandError) return false;
    throw error;
  } finally {
    fs.rmSync(probe, { force: true });
    fs.rmSync(copy, { force: true });
  }
}

function isNodatacow(dir: string): Promise<boolean> {
  return run('lsattr', ['-d', dir]).then(
    (r) => /^\S*C\S*\s/.test(r.stdout),
    () => false,
  );
}

export interface CreatePoolOptions {
  /**
   * Files on the pool are nodatacow (chattr +C on its top directory, inherited by everything made
   * below), as LXD does for its VM disk files: an image's writes go in place, and only the first write to
   * an extent a snapshot still shares is copied. @default true (the benches measure both)
   */
  readonly nodatacow?: boolean;
}

/**
 * Makes `root` the mount of a new btrfs pool of `sizeGb` GiB in `<root>.pool.img`. Idempotent: a pool
 * already mounted there is left as it is; a pool file that exists (a create that was interrupted, or a
 * reboot) is mounted again, never formatted. Refuses a root that is not an empty directory or is another
 * mount, and a pool file hoststore could not have made. All-or-nothing: a failed create unmounts,
 * detaches and removes what it made.
 */
export async function createPool(
  root: string,
  sizeGb: number,
  log: PoolLog,
  options: CreatePoolOptions = {},
): Promise<PoolStatus> {
  if (!Number.isSafeInteger(sizeGb) || sizeGb < POOL_MIN_GB || sizeGb > POOL_MAX_GB) {
    throw new UsageError(
      `--size-gb must be a whole number of GiB from ${POOL_MIN_GB} to ${POOL_MAX_GB} (got ${sizeGb})`,
    );
  }
  const dir = path.resolve(root);
  const file = poolFileFor(dir);
  // The pool file lives in the root's parent: the same ancestors the root's own trust rests on.
  checkRootTrust(dir);
  for (const tool of ['mkfs.btrfs', 'losetup', 'mount', 'umount', 'blkid', 'cp', 'chattr', 'lsattr'])
    requireTool(tool, 'make a btrfs pool');
  const fileStat = lstatOrUndefined(file);
  if (fileStat) checkPoolFile(file, fileStat);
  if (poolMount(dir, file)) {
    const status = await poolStatus(dir);
    if (status.sizeBytes !== sizeGb * GiB) {
      throw new RefusedError(
        `${dir} is already a pool of ${status.sizeBytes / GiB} GiB (${file}); hoststore does not resize pools (the README says how by hand)`,
      );
    }
    // A create killed after its mount left the device without autoclear (it would outlive an unmount)
    // and the top without nodatacow: finish both, as the create would have.
    if (status.device) await markAutoclear(status.device);
    if (options.nodatacow !== false && !status.nodatacow && isEmptyDirectory(dir)) await run('chattr', ['+C', dir]);
    log(`${dir}: already a pool of ${sizeGb} GiB (${file}), mounted`);
    return await poolStatus(dir);
  }
  const dirStat = lstatOrUndefined(dir);
  if (dirStat && (dirStat.isSymbolicLink() || !dirStat.isDirectory())) {
    throw new RefusedError(
      `refusing to make a pool at ${dir}: it is ${dirStat.isSymbolicLink() ? 'a symlink' : 'not a directory'}; give a new or empty directory`,
    );
  }
  const other = mountAt(dir);
  if (other) {
    throw new RefusedError(
      `refusing to make a pool at ${dir}: it is already a mount (${other.fstype} from ${other.source}); give a directory that is not a mount`,
    );
  }
  if (dirStat && !isEmptyDirectory(dir)) {
    throw new RefusedError(
      `refusing to make a pool at ${dir}: the directory is not empty (a pool mounted over it would hide what is there); give a new or empty directory`,
    );
  }
  if (fileStat && fileStat.size !== sizeGb * GiB) {
    throw new RefusedError(
      `refusing to make a pool at ${dir}: ${file} already exists with ${fileStat.size / GiB} GiB, not ${sizeGb}; mount it with ${commandHint(dir, 'up')}, or move it away`,
    );
  }
  if (!fileStat) {
    const free = fs.statfsSync(path.dirname(file));
    const freeBytes = free.bavail * free.bsize;
    // A full host filesystem fails the loop device's writes and btrfs turns read-only: never promise
    // more than the host has now (the file stays sparse; what others write later is the host's to watch).
    if (sizeGb * GiB > freeBytes) {
      throw new RefusedError(
        `refusing a pool of ${sizeGb} GiB at ${file}: the host filesystem has ${(freeBytes / GiB).toFixed(1)} GiB free; pick --size-gb of at most ${Math.floor(freeBytes / GiB)}`,
      );
    }
  }

  const made: { dir?: string; file?: boolean; mounted?: boolean } = {};
  try {
    // mkdirSync returns the first directory it made, or undefined when another process made it meanwhile.
    if (!dirStat) made.dir = fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    if (fileStat) {
      if (!(await hasPoolFilesystem(file))) {
        throw new RefusedError(
          `refusing pool file ${file}: it holds no btrfs filesystem (another pool create still running, or not a pool); move it away`,
        );
      }
      log(`${dir}: mounting the existing pool file ${file}`);
    } else {
      await createSparseImage(file, sizeGb * GiB);
      made.file = true;
      await run('mkfs.btrfs', ['-q', '-f', '-K', '-L', POOL_LABEL, file], { stdout: 'discard' });
    }
    await attachAndMount(dir, file);
    made.mounted = true;
    // Also on a pool whose create was cut short before this step: +C only takes hold on files made after it.
    if (options.nodatacow !== false && isEmptyDirectory(dir)) await run('chattr', ['+C', dir]);
    if (made.file) fs.chmodSync(dir, 0o755);
    const status = await poolStatus(dir);
    if (!status.reflink)
      throw new HoststoreError(
        `the pool at ${dir} was made but cp --reflink=always does not work on it; snapshots would be full copies`,
      );
    log(
      `${dir}: pool of ${sizeGb} GiB in ${file} (btrfs, ${status.directIo ? 'direct I/O' : 'buffered I/O'}${status.nodatacow ? ', nodatacow' : ''}); snapshots here are reflinks`,
    );
    return status;
  } catch (error) {
    await undoCreate(dir, file, made);
    throw error;
  }
}

async function undoCreate(
  dir: string,
  file: string,
  made: { dir?: string; file?: boolean; mounted?: boolean },
): Promise<void> {
  if (made.mounted) {
    await unmount(dir).catch(() => undefined);
    // Autoclear frees the device on unmount; detach it in case it was not marked yet.
    for (const device of loopsFor(file)) await run('losetup', ['--detach', device]).catch(() => undefined);
  }
  if (made.file && !mountAt(dir)) fs.rmSync(file, { force: true });
  if (made.dir && !mountAt(dir)) fs.rmSync(made.dir, { recursive: true, force: true });
}

/**
 * After a reboot: if `root` has a pool file and is not mounted, attach and mount it. Returns what it did;
 * 'none' when the root has no pool. Refuses (never mounts over) a root directory that has gained content
 * while the pool was away, and a pool file hoststore could not have made.
 */
export async function mountPoolIfAny(root: string, log: PoolLog): Promise<'none' | 'mounted' | 'already'> {
  const dir = path.resolve(root);
  const file = poolFileFor(dir);
  const stat = lstatOrUndefined(file);
  if (!stat) return 'none';
  const foreign = foreignPoolFile(stat);
  if (foreign) {
    log(
      `${dir}: ignoring ${file}: ${foreign}, so it is not a pool hoststore made (someone else put it beside the root; move it away)`,
    );
    return 'none';
  }
  checkPoolFile(file, stat);
  const mounted = poolMount(dir, file);
  if (mounted) {
    // Mounted by a create that was killed before it set autoclear: set it now.
    if (mounted.source.startsWith('/dev/loop')) await markAutoclear(mounted.source);
    return 'already';
  }
  const other = mountAt(dir);
  if (other)
    throw new RefusedError(
      `pool ${file} is not mounted at ${dir}: ${other.fstype} from ${other.source} is mounted there; unmount it, then run ${commandHint(dir, 'up')} again`,
    );
  const dirStat = lstatOrUndefined(dir);
  if (!dirStat) fs.mkdirSync(dir, { mode: 0o755 });
  else if (dirStat.isSymbolicLink() || !dirStat.isDirectory())
    throw new RefusedError(`pool ${file} cannot be mounted at ${dir}: it is not a directory; move it away`);
  else if (!isEmptyDirectory(dir)) {
    throw new RefusedError(
      `pool ${file} cannot be mounted at ${dir}: the directory is not empty (written while the pool was away?); move its content away, then run ${commandHint(dir, 'up')} again`,
    );
  }
  if (!(await hasPoolFilesystem(file)))
    throw new RefusedError(`refusing pool file ${file}: it holds no btrfs filesystem; move it away`);
  const { device, directIo } = await attachAndMount(dir, file);
  log(
    `${dir}: pool ${file} mounted from ${device}${directIo ? '' : ' (buffered: the host filesystem refused direct I/O)'}`,
  );
  return 'mounted';
}

/** The pool at `root`; throws when it has none. */
export async function poolStatus(root: string): Promise<PoolStatus> {
  const dir = path.resolve(root);
  const file = poolFileFor(dir);
  const stat = lstatOrUndefined(file);
  if (!stat)
    throw new HoststoreError(
      `${dir} has no pool (no ${file}); make one with ${commandHint(dir, 'pool create --size-gb N')}`,
    );
  checkPoolFile(file, stat);
  const base = { root: dir, file, sizeBytes: stat.size, allocatedBytes: stat.blocks * 512 };
  const entry = poolMount(dir, file);
  if (!entry) return { ...base, mounted: false };
  const fsStat = fs.statfsSync(dir);
  return {
    ...base,
    mounted: true,
    device: entry.source,
    directIo: loopDirectIo(entry.source),
    filesystemBytes: fsStat.blocks * fsStat.bsize,
    usedBytes: (fsStat.blocks - fsStat.bfree) * fsStat.bsize,
    freeBytes: fsStat.bavail * fsStat.bsize,
    nodatacow: await isNodatacow(dir),
    reflink: await reflinkWorks(dir),
  };
}
