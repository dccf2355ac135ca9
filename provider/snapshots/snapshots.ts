/**
 * Point-in-time, immutable snapshots of a storage: a mounted filesystem is frozen only for the instant
 * of the copy (and always thawed); the copy is a reflink where the root's filesystem can share extents,
 * else a sparse-aware copy; the result is read-only with a SHA-256 in the registry.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { DEFAULT_MAX_FREEZE_SECONDS, legacySnapshotPath, snapshotPath, type StorageKind } from '../../src/schema.js';
import { HoststoreError, RefusedError } from '../errors.js';
import { run } from '../exec.js';
import { withFrozen } from '../host/freeze.js';
import { mountsOfImage } from '../handlers/block-device.js';
import type { StorageRecord } from '../registry/store.js';
import { checkInsideRoot, makeRootDirectory, recordedStoragePath, snapshotIdProblem } from '../host/root-trust.js';
import type { HandlerContext } from '../handlers/handler.js';
import { newSnapshotId } from './snapshot-id.js';
import { WINDOW, dataExtents, dataWindows } from './data-windows.js';
import { CopyTimedOut, copyAndHash, startCopyAndHash, type SinglePass } from './copy-and-hash.js';
import { streamDigest } from './stream-digest.js';
import { WindowHasher } from './window-hasher.js';
import { allocatedBytes, formatSize, freeBytes, isNoSpace, rootFullError } from './snapshot-space.js';
import {
  SPARSE_COPY_BYTES_PER_SECOND,
  expectedFreezeMs,
  probeSnapshotMethod,
  seconds,
  type SnapshotMethod,
} from './snapshot-method.js';
import { commandHint } from '../command-hint.js';
import { recordStorageEvent, type EventSubject } from '../journal/storage-event.js';

export type SnapshotTrigger = 'manual' | 'schedule' | 'final' | 'safety';

export interface SnapshotRecord {
  readonly id: string;
  readonly kind: StorageKind;
  readonly project: string;
  readonly storage: string;
  /** Where it was written, for display only: hoststore finds it by `snapshotLocation`, never by this. */
  readonly path: string;
  readonly createdAt: string;
  readonly trigger: SnapshotTrigger;
  /** The policy key (`policyKey`: `<project>_<policy>_<storage>`) whose schedule took it, for scheduled snapshots. */
  readonly policy?: string;
  /** `reflink` (shared extents: near-constant time) or `sparse-copy` (holes kept, data copied). */
  readonly method: 'reflink' | 'sparse-copy';
  /** How long the filesystem was frozen (0 when it was not mounted), from the freeze to the thaw. */
  readonly frozenMs: number;
  /** For a mounted image: the freeze expected before freezing, and the limit it was held to. */
  readonly expectedFreezeMs?: number;
  readonly maxFreezeSeconds?: number;
  readonly sha256: string;
  /** How `sha256` was computed: over the image's data extents, or over the whole file or tree. */
  readonly checksumMethod?: ChecksumMethod;
  /**
   * A reflink capture takes constant time; hashing its data would not. Its checksum is computed after
   * the capture, by the first verification (`snapshot list`, a restore) or the next `run-due`.
   */
  readonly checksumPending?: boolean;
  /** The storage was deleted with removalPolicy 'snapshot': this snapshot is its last copy. */
  readonly final?: boolean;
  /** The last time its content was hashed and compared with `sha256` (at the capture, then by a verification). */
  readonly verified?: Verification;
}

export interface Verification {
  readonly at: string;
  readonly intact: boolean;
  /** The file's (or tree's) identity when it was hashed: while it is unchanged, so is the verdict. */
  readonly identity: FileIdentity;
}

export function snapshotDir(root: string): string {
  return path.join(root, 'snapshots');
}

/**
 * Where a snapshot is on the host, computed by the layout from its record's kind, project, storage and
 * id (never its recorded `path`): the current layout, or where earlier builds put it when it is there.
 * Checked to stay under the root with no symlink on the way.
 */
export function snapshotLocation(
  root: string,
  snapshot: Pick<SnapshotRecord, 'id' | 'kind' | 'project' | 'storage'>,
): string {
  if (snapshotIdProblem(snapshot.id))
    throw new RefusedError(
      `refusing a snapshot record whose id is ${JSON.stringify(snapshot.id)}: ${snapshotIdProblem(snapshot.id)} (the registry was changed by hand or forged); fix or remove that record`,
    );
  // Validates kind, project and name as the specs do.
  recordedStoragePath(root, { kind: snapshot.kind, project: snapshot.project, name: snapshot.storage });
  const current = checkInsideRoot(
    root,
    snapshotPath(root, snapshot.kind, snapshot.project, snapshot.storage, snapshot.id),
  );
  if (fs.existsSync(current)) return current;
  const legacy = checkInsideRoot(
    root,
    legacySnapshotPath(root, snapshot.kind, snapshot.project, snapshot.storage, snapshot.id),
  );
  return fs.existsSync(legacy) ? legacy : current;
}

export type ChecksumMethod = 'extents' | 'full';

const ZERO_WINDOW = Buffer.alloc(WINDOW);

/**
 * SHA-256 of a snapshot's content. An image is hashed as its size plus every non-zero 1 MiB window
 * (aligned to the file) with its offset, so the result does not depend on how the file is laid out
 * (holes, allocated zeros, shared extents) and a copy hashes like its source. Only windows that touch a
 * data extent are read (FIEMAP via filefrag), so the cost follows the data, not the nominal size; where
 * FIEMAP is unavailable the whole file is read.
 * A directory is hashed as its tree: relative paths, types and contents, in sorted order.
 */
export async function checksum(
  target: string,
  options: {
    /** Called as windows are hashed: data bytes hashed so far and in all. */
    readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
  } = {},
): Promise<{ sha256: string; method: ChecksumMethod }> {
  const hash = createHash('sha256');
  const feed = async (file: string) => {
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  };
  if (fs.statSync(target).isDirectory()) {
    const walk = async (dir: string, rel: string): Promise<void> => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const full = path.join(dir, entry.name);
        const relative = path.join(rel, entry.name);
        hash.update(
          `${relative}\0${entry.isDirectory() ? 'd' : entry.isSymbolicLink() ? `l:${fs.readlinkSync(full)}` : 'f'}\0`,
        );
        if (entry.isDirectory()) await walk(full, relative);
        else if (entry.isFile()) await feed(full);
      }
    };
    await walk(target, '');
    return { sha256: hash.digest('hex'), method: 'full' };
  }
  const size = fs.statSync(target).size;
  const extents = await dataExtents(target);
  const windows = dataWindows(size, extents);
  const digest = await streamDigest();
  const fd = fs.openSync(target, 'r');
  try {
    void digest.update(Buffer.from(`size:${size}\0`)).catch(() => undefined);
    // Two buffers: one is read while the digest still hashes the other.
    const buffers = [Buffer.alloc(WINDOW), Buffer.alloc(WINDOW)];
    const busy: Array<Promise<unknown>> = [Promise.resolve(), Promise.resolve()];
    let hashed = 0;
    for (const w of windows) {
      options.onProgress?.(hashed * WINDOW, windows.length * WINDOW);
      const slot = hashed++ % 2;
      await busy[slot];
      const read = fs.readSync(fd, buffers[slot], 0, WINDOW, w * WINDOW);
      const data = buffers[slot].subarray(0, read);
      if (data.equals(ZERO_WINDOW.subarray(0, read))) continue;
      const offset = Buffer.alloc(8);
      offset.writeBigUInt64BE(BigInt(w * WINDOW));
      busy[slot] = Promise.all([digest.update(offset), digest.update(data)]);
      // Handled here and awaited again before the slot is reused or the digest taken.
      busy[slot].catch(() => undefined);
    }
    await Promise.all(busy);
    return { sha256: await digest.digest(), method: extents ? 'extents' : 'full' };
  } catch (error) {
    digest.abort();
    throw error;
  } finally {
    fs.closeSync(fd);
  }
}

async function copy(source: string, target: string, directory: boolean): Promise<'reflink' | 'sparse-copy'> {
  const flags = directory ? ['-a'] : ['--sparse=always'];
  try {
    await run('cp', ['--reflink=always', ...(directory ? ['-a'] : []), source, target], { concurrent: true });
    return 'reflink';
  } catch {
    fs.rmSync(target, { recursive: true, force: true });
    await run('cp', ['--reflink=never', ...flags, source, target], { concurrent: true });
    return 'sparse-copy';
  }
}

function makeReadOnly(target: string): void {
  const stat = fs.statSync(target);
  if (stat.isDirectory()) {
    for (const entry of fs.readdirSync(target)) makeReadOnly(path.join(target, entry));
    fs.chmodSync(target, 0o555);
  } else if (stat.isFile()) {
    fs.chmodSync(target, 0o444);
  }
}

export interface SnapshotOptions {
  /** The longest a mounted filesystem may stay frozen for the capture. @default DEFAULT_MAX_FREEZE_SECONDS */
  readonly maxFreezeSeconds?: number;
  /** Told how far a long copy or checksum is (never while a filesystem is frozen). */
  readonly onProgress?: (progress: SnapshotProgress) => void;
}

/** How far a snapshot is: bytes copied (allocated in the copy) or hashed; `totalBytes` unknown for a directory's copy. */
export interface SnapshotProgress {
  readonly step: 'copy' | 'checksum';
  readonly doneBytes: number;
  readonly totalBytes?: number;
}

const PROGRESS_EVERY_MS = 1000;

/** Reports the copy's allocated bytes now and every second until the returned function is called. */
function watchCopy(
  target: string,
  totalBytes: number | undefined,
  onProgress: SnapshotOptions['onProgress'],
): () => void {
  if (!onProgress) return () => undefined;
  const report = () => {
    const stat = fs.statSync(target, { throwIfNoEntry: false });
    onProgress({ step: 'copy', doneBytes: stat?.isFile() ? stat.blocks * 512 : 0, totalBytes });
  };
  report();
  const timer = setInterval(report, PROGRESS_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Takes a snapshot of `storage`; all-or-nothing (a failed capture leaves no snapshot and a thawed
 * filesystem). A mounted image is frozen only when its capture fits `maxFreezeSeconds`: the method is
 * known before freezing (probed), dirty data is flushed before freezing, a capture expected to take
 * longer is refused, and a copy still running at the limit is stopped and the filesystem thawed.
 */
export async function takeSnapshot(
  ctx: HandlerContext,
  storageRecord: StorageRecord,
  trigger: SnapshotTrigger,
  policy?: string,
  options: SnapshotOptions = {},
): Promise<SnapshotRecord> {
  // The source is where the layout puts this storage, whatever path its record carries.
  const storage = { ...storageRecord, path: recordedStoragePath(ctx.root, storageRecord) };
  if (!fs.existsSync(storage.path))
    throw new HoststoreError(`${storage.kind} ${storage.name}: ${storage.path} is missing; nothing to snapshot`);
  const subject = `${storage.kind} ${storage.name}`;
  const maxFreezeSeconds = options.maxFreezeSeconds ?? DEFAULT_MAX_FREEZE_SECONDS;
  const at = ctx.now();
  const fileOf = (id: string) =>
    checkInsideRoot(ctx.root, snapshotPath(ctx.root, storage.kind, storage.project, storage.name, id));
  // Unique against the registry and the files (this layout's and the earlier one's), under the root lock the callers hold.
  const id = newSnapshotId(
    storage,
    at,
    (candidate) =>
      ctx.registry.get('snapshots', candidate) !== undefined ||
      fs.existsSync(
        snapshotLocation(ctx.root, {
          id: candidate,
          kind: storage.kind,
          project: storage.project,
          storage: storage.name,
        }),
      ),
  );
  const target = fileOf(id);
  const dir = makeRootDirectory(ctx.root, path.dirname(target));
  const planned = probeSnapshotMethod(dir);
  // A sparse copy of an image needs its allocated bytes; checked before anything is copied or frozen.
  const needed = storage.kind === 'directory' ? undefined : planned === 'reflink' ? 0 : allocatedBytes(storage.path);
  if (needed !== undefined && needed > freeBytes(dir)) throw rootFullError(subject, ctx.root, freeBytes(dir), needed);
  // Freeze through the filesystem's first mount (a replica's host path, or the staging path if shared).
  const mounted = storage.kind === 'directory' ? undefined : mountsOfImage(storage.path)[0]?.target;
  const expectedMs = mounted ? expectedFreezeMs(planned, needed ?? 0) : 0;
  if (mounted && expectedMs > maxFreezeSeconds * 1000)
    throw freezeRefusal(subject, ctx.root, planned, needed ?? 0, expectedMs, maxFreezeSeconds);
  let method: SnapshotRecord['method'];
  let sum: Awaited<ReturnType<typeof checksum>>;
  let frozenMs = 0;
  let record: SnapshotRecord;
  const copyProgress =
    options.onProgress &&
    ((doneBytes: number, totalBytes: number) => options.onProgress?.({ step: 'copy', doneBytes, totalBytes }));
  try {
    if (mounted) {
      ctx.log(
        `${subject}: freezing ${mounted} for about ${seconds(expectedMs)} (${planned}${planned === 'reflink' ? '' : ` of ${formatSize(needed ?? 0)}`}; limit ${maxFreezeSeconds} s)`,
      );
      const limitMs = maxFreezeSeconds * 1000;
      try {
        // No progress while frozen: a report written into the frozen filesystem (stdout redirected
        // there) would hang until the thaw that waits for it.
        let pass: SinglePass | undefined;
        // The hash's worker starts now: the frozen window need not include its start.
        const hasher = planned === 'reflink' ? undefined : new WindowHasher();
        method = await withFrozen(
          mounted,
          async (frozenAt) => {
            const left = limitMs - (Date.now() - frozenAt);
            if (left <= 0) throw new CopyTimedOut(limitMs);
            if (planned === 'reflink') {
              await cloneImage(storage.path, target);
              return 'reflink';
            }
            // The thaw waits for the copy only: a hash still behind catches up from the copy's pages.
            pass = startCopyAndHash(storage.path, target, { timeoutMs: left, hasher });
            await pass.copied;
            return 'sparse-copy';
          },
          (window) => (frozenMs = window),
        ).finally(() => {
          // Not handed to a pass (the freeze failed, or no time was left): stopped here.
          if (!pass) void hasher?.abort().catch(() => undefined);
        });
        sum = pass ? await pass.hashed : { sha256: '', method: 'extents' };
      } catch (error) {
        if (error instanceof CopyTimedOut) {
          throw new RefusedError(
            `snapshot of ${subject} stopped: its ${planned} had not finished after ${maxFreezeSeconds} s frozen (the limit); the filesystem was thawed and nothing was left behind; raise maxFreezeSeconds (--max-freeze-seconds), put the root on a reflink-capable filesystem (xfs with reflink, btrfs), or unmount it first`,
          );
        }
        throw error;
      }
    } else if (storage.kind === 'directory') {
      const stopWatch = watchCopy(target, undefined, options.onProgress);
      method = await copy(storage.path, target, true).finally(stopWatch);
      options.onProgress?.({ step: 'checksum', doneBytes: 0 });
      sum = await checksum(target);
    } else if (planned === 'reflink') {
      // Unmounted and under the root lock, the source holds still: a clone, hashed at once.
      await cloneImage(storage.path, target);
      method = 'reflink';
      sum = await checksum(target, {
        onProgress: (doneBytes, totalBytes) => options.onProgress?.({ step: 'checksum', doneBytes, totalBytes }),
      });
    } else {
      // Unmounted and under the root lock, the source holds still: copied and hashed in one pass.
      method = 'sparse-copy';
      sum = await copyAndHash(storage.path, target, { onProgress: copyProgress });
    }
    makeReadOnly(target);
    const verified: Verification | undefined =
      sum.sha256 === '' ? undefined : { at: ctx.now().toISOString(), intact: true, identity: fileIdentity(target) };
    record = {
      id,
      kind: storage.kind,
      project: storage.project,
      storage: storage.name,
      path: target,
      createdAt: at.toISOString(),
      trigger,
      policy,
      method,
      frozenMs,
      sha256: sum.sha256,
      checksumMethod: sum.method,
      ...(sum.sha256 === '' ? { checksumPending: true } : {}),
      ...(mounted ? { expectedFreezeMs: expectedMs, maxFreezeSeconds } : {}),
      ...(verified ? { verified } : {}),
    };
    // Inside the try: a record that cannot be written (a full root) takes its file with it.
    ctx.registry.put('snapshots', id, record);
  } catch (error) {
    fs.rmSync(target, { recursive: true, force: true });
    if (isNoSpace(error))
      throw rootFullError(subject, ctx.root, freeBytes(dir), needed || allocatedBytes(storage.path));
    throw error;
  }
  recordStorageEvent(
    ctx,
    subjectOfSnapshot(ctx, record),
    'snapshot-taken',
    `snapshot ${id} taken (${trigger}, ${method}${mounted ? `, frozen ${frozenMs} ms` : ', not mounted'})`,
    { snapshot: id, trigger, method, freezeMs: frozenMs },
  );
  ctx.log(
    `${subject}: snapshot ${id} taken (${method}${mounted ? `, frozen ${frozenMs} ms, expected ${expectedMs} ms, limit ${maxFreezeSeconds} s` : ', not mounted'})`,
  );
  return record;
}

/** A reflink of an image: FICLONE through libuv, no process to spawn (inside a freeze window, too). */
async function cloneImage(source: string, target: string): Promise<void> {
  await fs.promises.copyFile(source, target, fs.constants.COPYFILE_EXCL | fs.constants.COPYFILE_FICLONE_FORCE);
}

/** The refusal of a capture expected to freeze longer than allowed: expected time, limit, ways out. */
function freezeRefusal(
  subject: string,
  root: string,
  method: SnapshotMethod,
  bytes: number,
  expectedMs: number,
  maxFreezeSeconds: number,
): RefusedError {
  const how =
    method === 'reflink'
      ? 'a reflink capture'
      : `a sparse copy of ${formatSize(bytes)} at about ${formatSize(SPARSE_COPY_BYTES_PER_SECOND)}/s, since ${root} cannot reflink`;
  return new RefusedError(
    `snapshot of ${subject} refused: it would freeze its filesystem for about ${seconds(expectedMs)} (${how}), over the limit of ${maxFreezeSeconds} s; ` +
      `raise maxFreezeSeconds (${commandHint(root, `snapshot create ${subject.slice(subject.indexOf(' ') + 1)} --max-freeze-seconds N`)}), put the root on a reflink-capable filesystem (xfs with reflink, btrfs, or a btrfs pool: ${commandHint(root, 'pool create --size-gb N')}), or unmount it first (an unmounted image is copied without freezing)`,
  );
}

export function listSnapshots(ctx: HandlerContext, storage?: string): SnapshotRecord[] {
  return ctx.registry
    .list<SnapshotRecord>('snapshots')
    .map((e) => e.record)
    .filter((s) => !storage || s.storage === storage)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export function getSnapshot(ctx: HandlerContext, id: string): SnapshotRecord {
  const record = ctx.registry.get<SnapshotRecord>('snapshots', id);
  if (!record)
    throw new HoststoreError(`no snapshot '${id}' under ${ctx.root} (see ${commandHint(ctx.root, 'snapshot list')})`);
  return record;
}

/**
 * Whether a snapshot's content still matches its recorded checksum: hashes it and records the outcome
 * (`verified`) in its registry record, so callers hold the root lock.
 */
export async function verifySnapshot(record: SnapshotRecord, ctx: HandlerContext): Promise<boolean> {
  const location = snapshotLocation(ctx.root, record);
  if (!fs.existsSync(location)) {
    recordStorageEvent(ctx, subjectOfSnapshot(ctx, record), 'snapshot-verified', `snapshot ${record.id} is missing`, {
      snapshot: record.id,
      result: 'missing',
    });
    return false;
  }
  const identity = fileIdentity(location);
  const sum = await checksum(location);
  // A first verification of a reflink snapshot: its (read-only) content becomes the reference.
  const reference = record.checksumPending
    ? { sha256: sum.sha256, checksumMethod: sum.method, checksumPending: undefined }
    : {};
  const intact = record.checksumPending ? true : sum.sha256 === record.sha256;
  const verified: Verification = { at: ctx.now().toISOString(), intact, identity };
  ctx.registry.put<SnapshotRecord>('snapshots', record.id, { ...record, ...reference, verified });
  recordStorageEvent(
    ctx,
    subjectOfSnapshot(ctx, record),
    'snapshot-verified',
    `snapshot ${record.id} ${intact ? 'verified: its content matches its checksum' : 'changed: its content no longer matches its checksum'}`,
    { snapshot: record.id, result: intact ? 'ok' : 'changed' },
  );
  return intact;
}

/**
 * What identifies a snapshot on the host, from stat alone: device, inode, size and the modification and
 * change times in nanoseconds (ctime moves on every write or chmod and cannot be set back by hand). For a
 * directory snapshot, a digest of the same fields of every entry of its tree.
 */
export interface FileIdentity {
  readonly dev: string;
  readonly ino: string;
  readonly size: string;
  readonly mtimeNs: string;
  readonly ctimeNs: string;
  readonly tree?: string;
}

export function fileIdentity(location: string): FileIdentity {
  const stat = fs.lstatSync(location, { bigint: true });
  const fields = (st: fs.BigIntStats) => [st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs, st.mode].join(':');
  let tree: string | undefined;
  if (stat.isDirectory()) {
    const hash = createHash('sha256');
    for (const entry of (fs.readdirSync(location, { recursive: true }) as string[]).sort()) {
      hash.update(`${entry}\0${fields(fs.lstatSync(path.join(location, entry), { bigint: true }))}\0`);
    }
    tree = hash.digest('hex');
  }
  return {
    dev: String(stat.dev),
    ino: String(stat.ino),
    size: String(stat.size),
    mtimeNs: String(stat.mtimeNs),
    ctimeNs: String(stat.ctimeNs),
    ...(tree ? { tree } : {}),
  };
}

export type SnapshotState = 'ok' | 'changed' | 'missing';

/**
 * How `snapshot list` judges a snapshot without hashing it: from its last recorded verification while the
 * file's identity is the same as then; `undefined` when it has to be hashed (`--verify`, never verified,
 * a reflink checksum still pending, or the identity changed since: the content may have changed).
 */
export function recordedState(record: SnapshotRecord, root: string, verify: boolean): SnapshotState | undefined {
  const location = snapshotLocation(root, record);
  if (!fs.existsSync(location)) return 'missing';
  if (verify || record.checksumPending || !record.verified) return undefined;
  const now = fileIdentity(location);
  const then = record.verified.identity;
  const same =
    (Object.keys(now) as Array<keyof FileIdentity>).every((k) => now[k] === then?.[k]) &&
    Object.keys(then ?? {}).length === Object.keys(now).length;
  if (!same) return undefined;
  return record.verified.intact ? 'ok' : 'changed';
}

/** Computes the checksums that reflink captures left pending (run-due does this every minute). */
export async function completePendingChecksums(ctx: HandlerContext): Promise<string[]> {
  const pending = listSnapshots(ctx).filter((s) => s.checksumPending);
  for (const record of pending) await verifySnapshot(record, ctx);
  return pending.map((s) => s.id);
}

export async function deleteSnapshot(ctx: HandlerContext, id: string): Promise<void> {
  const record = getSnapshot(ctx, id);
  if (
    record.final &&
    listSnapshots(ctx, record.storage).filter((s) => s.kind === record.kind && s.project === record.project).length ===
      1
  ) {
    throw new RefusedError(
      `snapshot ${id} is the last copy of ${record.kind} ${record.storage}, deleted with removalPolicy 'snapshot'; restore it first, or delete it with --force`,
    );
  }
  const location = snapshotLocation(ctx.root, record);
  if (fs.existsSync(path.dirname(location))) fs.chmodSync(path.dirname(location), 0o700);
  if (fs.existsSync(location) && fs.lstatSync(location).isDirectory()) {
    fs.chmodSync(location, 0o755);
    for (const entry of fs.readdirSync(location, { recursive: true }) as string[]) {
      const full = path.join(location, entry);
      if (fs.lstatSync(full).isDirectory()) fs.chmodSync(full, 0o755);
    }
  }
  fs.rmSync(location, { recursive: true, force: true });
  ctx.registry.remove('snapshots', id);
  recordStorageEvent(ctx, subjectOfSnapshot(ctx, record), 'snapshot-pruned', `snapshot ${id} deleted`, {
    snapshot: id,
    trigger: record.trigger,
  });
}

/** The storage a snapshot's events are about, with its stack while the storage is recorded. */
export function subjectOfSnapshot(
  ctx: HandlerContext,
  record: Pick<SnapshotRecord, 'kind' | 'project' | 'storage'>,
): EventSubject {
  const stack = ctx.stack ?? ctx.registry.storage(record.kind, record.project, record.storage)?.stack;
  return { kind: record.kind, project: record.project, storage: record.storage, stack: stack || undefined };
}

/** Copies a snapshot of the root `root` to `target` (a layout path) as a new, writable image or directory. */
export async function restoreCopy(record: SnapshotRecord, target: string, root: string): Promise<void> {
  checkInsideRoot(root, target);
  if (fs.existsSync(target)) throw new RefusedError(`refusing to restore over ${target}: it exists`);
  makeRootDirectory(root, path.dirname(target));
  try {
    await copy(snapshotLocation(root, record), target, record.kind === 'directory');
    if (record.kind === 'directory') await run('chmod', ['-R', 'u+w', target]);
    else fs.chmodSync(target, 0o600);
  } catch (error) {
    fs.rmSync(target, { recursive: true, force: true });
    throw error;
  }
}
