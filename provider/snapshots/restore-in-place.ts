/**
 * Restoring a storage in place so that a crash at any instant leaves it whole: the snapshot is copied to
 * a temporary beside the image (created exclusively, fsynced) and swapped in by rename, with the
 * progress recorded on the storage record, so the next run (this command, a converge, `hoststore up`)
 * rolls a half-made copy back or finishes a swap. The safety snapshot is always kept.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { run } from '../exec.js';
import { removeTree } from '../host/remove-tree.js';
import { storagePath } from '../handlers/storage.js';
import type { HandlerContext } from '../handlers/handler.js';
import type { RestoreInProgress, StorageRecord } from '../registry/store.js';
import { snapshotLocation, subjectOfSnapshot, type SnapshotRecord } from './snapshots.js';
import { recordStorageEvent } from '../journal/storage-event.js';

const GiB = 1024 ** 3;

/** Where the copy is made, beside the image (same filesystem, so the swap is one rename). */
export function restoreTempPath(image: string): string {
  return `${image}.restoring`;
}

/** Where a directory volume's previous content waits during its two-rename swap. */
function asidePath(directory: string): string {
  return `${directory}.before-restore`;
}

function imageOf(root: string, record: StorageRecord): string {
  return storagePath({ kind: record.kind, root, project: record.project, name: record.name });
}

function fsyncPath(target: string): void {
  const fd = fs.openSync(target, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function putProgress(
  ctx: HandlerContext,
  record: StorageRecord,
  restoring: RestoreInProgress | undefined,
): StorageRecord {
  const next: StorageRecord = { ...record, restoring, updatedAt: ctx.now().toISOString() };
  ctx.registry.putStorage(next);
  return next;
}

/** Copies the snapshot (where the layout puts it, never its record's `path`) into the exclusive temporary and makes it durable. */
async function copyToTemp(root: string, snapshot: SnapshotRecord, tmp: string): Promise<void> {
  const source = snapshotLocation(root, snapshot);
  if (snapshot.kind === 'directory') {
    fs.mkdirSync(tmp, { mode: 0o700 });
    await run('cp', ['-a', '--reflink=auto', `${source}/.`, `${tmp}/`], { concurrent: true });
    await run('chmod', ['-R', 'u+w', tmp]);
    fs.chmodSync(tmp, 0o755);
    await run('sync', ['--file-system', tmp]);
  } else {
    fs.closeSync(
      fs.openSync(
        tmp,
        fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
        0o600,
      ),
    );
    await run('cp', ['--reflink=auto', '--sparse=always', source, tmp], { concurrent: true });
    fs.chmodSync(tmp, 0o600);
    fsyncPath(tmp);
  }
  fsyncPath(path.dirname(tmp));
}

/** Puts the (durable) temporary in the image's place; safe to run again after a crash at any point. */
async function swapIn(kind: StorageRecord['kind'], image: string, tmp: string): Promise<void> {
  if (fs.existsSync(tmp)) {
    if (kind === 'directory') {
      const aside = asidePath(image);
      if (fs.existsSync(image) && !fs.existsSync(aside)) fs.renameSync(image, aside);
      fs.renameSync(tmp, image);
    } else {
      fs.renameSync(tmp, image);
    }
    fsyncPath(path.dirname(image));
  }
  // The previous content may still be reached by a service (a container's own bind of it): removed by descriptor.
  if (kind === 'directory') await removeTree(asidePath(image));
}

function finished(ctx: HandlerContext, record: StorageRecord, image: string): StorageRecord {
  const sizeGb = record.kind === 'directory' ? record.sizeGb : Math.floor(fs.statSync(image).size / GiB);
  return putProgress(ctx, { ...record, sizeGb, growingToGb: undefined }, undefined);
}

/**
 * Completes what an interrupted in-place restore left: a copy still being made is thrown away (the
 * storage kept its content), a copy already made is swapped in. Returns what happened, or undefined
 * when no restore was in progress. The caller holds the root lock.
 */
export async function finishInterruptedRestore(
  ctx: HandlerContext,
  record: StorageRecord,
): Promise<'rolled-back' | 'finished' | undefined> {
  const progress = record.restoring;
  if (!progress) return undefined;
  const image = imageOf(ctx.root, record);
  const tmp = restoreTempPath(image);
  const what = `${record.kind} ${record.name}`;
  if (progress.phase === 'copying') {
    fs.rmSync(tmp, { recursive: true, force: true });
    putProgress(ctx, record, undefined);
    ctx.log(
      `${what}: rolled back an interrupted restore from snapshot ${progress.snapshot}; it keeps its previous content (also in safety snapshot ${progress.safety})`,
    );
    return 'rolled-back';
  }
  await swapIn(record.kind, image, tmp);
  finished(ctx, record, image);
  recordRestored(ctx, record, progress.snapshot, progress.safety, true);
  ctx.log(
    `${what}: finished an interrupted restore from snapshot ${progress.snapshot} (its previous content is safety snapshot ${progress.safety})`,
  );
  return 'finished';
}

/**
 * Replaces the (unmounted) storage's content with the snapshot's, after the caller took `safety`. The
 * caller holds the root lock and has verified the snapshot.
 */
export async function restoreInPlaceCrashSafe(
  ctx: HandlerContext,
  record: StorageRecord,
  snapshot: SnapshotRecord,
  safety: SnapshotRecord,
): Promise<void> {
  const image = imageOf(ctx.root, record);
  const tmp = restoreTempPath(image);
  // Anything at the temporary's name is a leftover or planted: never written through, removed first.
  fs.rmSync(tmp, { recursive: true, force: true });
  let current = putProgress(ctx, record, {
    snapshot: snapshot.id,
    safety: safety.id,
    phase: 'copying',
    startedAt: ctx.now().toISOString(),
  });
  try {
    await copyToTemp(ctx.root, snapshot, tmp);
  } catch (error) {
    fs.rmSync(tmp, { recursive: true, force: true });
    putProgress(ctx, current, undefined);
    throw error;
  }
  current = putProgress(ctx, current, { ...(current.restoring as RestoreInProgress), phase: 'swapping' });
  await swapIn(record.kind, image, tmp);
  finished(ctx, current, image);
  recordRestored(ctx, record, snapshot.id, safety.id, false);
}

function recordRestored(
  ctx: HandlerContext,
  record: StorageRecord,
  snapshot: string,
  safety: string,
  resumed: boolean,
): void {
  recordStorageEvent(
    ctx,
    subjectOfSnapshot(ctx, { kind: record.kind, project: record.project, storage: record.name }),
    'restored',
    `restored in place from snapshot ${snapshot}${resumed ? ' (an interrupted restore, finished)' : ''}; its previous content is snapshot ${safety}`,
    { from: 'snapshot', snapshot, into: 'in-place', safetySnapshot: safety },
  );
}
