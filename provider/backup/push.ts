/**
 * A push: one local snapshot (immutable, point-in-time; never the live image) sent to a repository with
 * `restic backup`, tagged so any host can find and verify it, and recorded in the push record and the journal.
 */
import * as fs from 'node:fs';
import type { HandlerContext } from '../handlers/handler.js';
import { HoststoreError } from '../errors.js';
import { withRootLock } from '../registry/lock.js';
import { redactRepositoryUrl } from '../../src/backup-spec.js';
import { recordStorageEvent } from '../journal/storage-event.js';
import {
  getSnapshot,
  snapshotLocation,
  subjectOfSnapshot,
  verifySnapshot,
  type SnapshotRecord,
} from '../snapshots/snapshots.js';
import { BACKUPS, PUSH_HISTORY, pushKey, type PushRecord, type RepositoryRecord } from './records.js';
import { backupTags, entryOf, type BackupEntry } from './backups.js';
import { BackupError, jsonLines, openRepository, restic } from './restic.js';
import { withBackupLock } from './backup-lock.js';

/** A repository as a push needs it: a RepositoryRecord (its project and name key the push record). */
export type PushRepository = Pick<
  RepositoryRecord,
  'project' | 'name' | 'url' | 'passwordFile' | 'environmentFile' | 'options'
>;

export interface PushResult {
  readonly backup: BackupEntry;
  /** What the push added to the repository (restic's data_added: after deduplication and compression). */
  readonly bytesAdded: number;
  /** What restic read (the image's nominal size for a sparse image). */
  readonly bytesProcessed: number;
  /** The repository did not exist yet and this push initialised it. */
  readonly initialised: boolean;
}

/** restic's `--time`: the local snapshot's own time, so remote retention counts from when it was taken. */
function resticTime(iso: string): string {
  return new Date(iso)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '');
}

/** The snapshot's record with its checksum complete (a reflink capture leaves it pending), under the root lock. */
async function withChecksum(ctx: HandlerContext, snapshot: SnapshotRecord): Promise<SnapshotRecord> {
  if (!snapshot.checksumPending && snapshot.sha256) return snapshot;
  const complete = async () => {
    const current = getSnapshot(ctx, snapshot.id);
    if (current.checksumPending || !current.sha256) await verifySnapshot(current, ctx);
    return getSnapshot(ctx, snapshot.id);
  };
  return ctx.rootLocked
    ? complete()
    : withRootLock(ctx.root, { holder: `hoststore backup push ${snapshot.storage} (checksum)` }, complete);
}

/**
 * Pushes `snapshot` to `repository` (created with `restic init` when nothing is there yet) under the
 * root's backup lock (taken here unless this process already holds it). Records the outcome either way;
 * a failure is thrown as a BackupError after it is recorded, and never touches the local snapshot.
 */
export async function pushSnapshot(
  ctx: HandlerContext,
  repository: PushRepository,
  snapshot: SnapshotRecord,
): Promise<PushResult> {
  return withBackupLock(ctx.root, `hoststore backup push ${snapshot.storage}`, async () => {
    const key = pushKey(snapshot.kind, snapshot.project, snapshot.storage, repository.name);
    const attemptAt = ctx.now().toISOString();
    const subject = `${snapshot.kind} ${snapshot.project}/${snapshot.storage}`;
    try {
      const result = await push(ctx, repository, snapshot);
      recordPush(ctx, key, repository, snapshot, attemptAt, result);
      recordStorageEvent(
        ctx,
        subjectOfSnapshot(ctx, snapshot),
        'pushed',
        `snapshot ${snapshot.id} pushed to repository ${repository.name} (${redactRepositoryUrl(repository.url)}) as backup ${result.backup.shortId}: ${result.bytesAdded} bytes added of ${result.bytesProcessed} read`,
        {
          repository: repository.name,
          snapshot: snapshot.id,
          backup: result.backup.shortId,
          backupId: result.backup.id,
          bytesAdded: result.bytesAdded,
        },
      );
      return result;
    } catch (error) {
      const failure =
        error instanceof BackupError
          ? error
          : new BackupError(
              `backup repository ${repository.name} (${repository.url}): push of ${subject} snapshot ${snapshot.id} failed: ${error instanceof HoststoreError ? error.message : String((error as Error)?.message ?? error)}`,
            );
      recordPush(ctx, key, repository, snapshot, attemptAt, undefined, failure.message);
      recordStorageEvent(
        ctx,
        subjectOfSnapshot(ctx, snapshot),
        'push-failed',
        `push of snapshot ${snapshot.id} to repository ${repository.name} failed: ${failure.message.split(repository.url).join(redactRepositoryUrl(repository.url))}`,
        { repository: repository.name, snapshot: snapshot.id },
      );
      throw failure;
    }
  });
}

async function push(ctx: HandlerContext, repository: PushRepository, given: SnapshotRecord): Promise<PushResult> {
  const snapshot = await withChecksum(ctx, given);
  const location = snapshotLocation(ctx.root, snapshot);
  // A snapshot pruned since it was chosen: nothing to read; the next run pushes a newer one.
  const stat = fs.statSync(location, { throwIfNoEntry: false });
  if (!stat)
    throw new BackupError(
      `backup repository ${repository.name} (${repository.url}): snapshot ${snapshot.id} of ${snapshot.kind} ${snapshot.storage} is gone (pruned or deleted) before it was pushed; the next run pushes the newest one`,
    );
  const initialised = (await openRepository(ctx.root, repository, { create: true })) === 'created';
  const tags = backupTags({
    kind: snapshot.kind,
    project: snapshot.project,
    storage: snapshot.storage,
    snapshot: snapshot.id,
    sha256: snapshot.sha256,
    checksumMethod: snapshot.checksumMethod ?? 'full',
    size: stat.isDirectory() ? 0 : stat.size,
  });
  const { stdout, stderr, exitCode } = await restic(
    ctx.root,
    repository,
    ['backup', '--json', ...tags.flatMap((t) => ['--tag', t]), '--time', resticTime(snapshot.createdAt), location],
    // 3: a snapshot was saved, but some of the source could not be read.
    { allowExitCodes: [3] },
  );
  const summary = jsonLines(stdout).find(
    (d): d is { message_type: 'summary'; snapshot_id: string; data_added: number; total_bytes_processed: number } =>
      typeof d === 'object' && d !== null && (d as { message_type?: unknown }).message_type === 'summary',
  );
  if (exitCode === 3) {
    // An incomplete backup must never be restored as this snapshot: forget it at once.
    if (summary && typeof summary.snapshot_id === 'string')
      await restic(ctx.root, repository, ['forget', summary.snapshot_id]).catch(() => undefined);
    const said = stderr.trim().split('\n').filter(Boolean).pop() ?? 'some of it could not be read';
    throw new BackupError(
      `backup repository ${repository.name} (${repository.url}): restic could not read all of snapshot ${snapshot.id} (${said.slice(0, 200)}); the incomplete backup was forgotten and the next run pushes again`,
    );
  }
  if (!summary || typeof summary.snapshot_id !== 'string')
    throw new BackupError(
      `backup repository ${repository.name} (${repository.url}): restic backup ended without its summary; run \`hoststore backup verify\``,
    );
  // The summary names the new snapshot by its short id: read it back whole (and check it is ours).
  const { stdout: listed } = await restic(ctx.root, repository, [
    'snapshots',
    '--json',
    '--no-lock',
    summary.snapshot_id,
  ]);
  const backup = (JSON.parse(listed || '[]') as unknown[]).map((s) => entryOf(s as never)).find(Boolean);
  if (!backup)
    throw new BackupError(
      `backup repository ${repository.name} (${repository.url}): the backup restic reported (${summary.snapshot_id}) cannot be read back; run \`hoststore backup verify\``,
    );
  const bytesAdded = Number(summary.data_added) || 0;
  return {
    backup: { ...backup, bytesAdded },
    bytesAdded,
    bytesProcessed: Number(summary.total_bytes_processed) || 0,
    initialised,
  };
}

function recordPush(
  ctx: HandlerContext,
  key: string,
  repository: PushRepository,
  snapshot: SnapshotRecord,
  attemptAt: string,
  result: PushResult | undefined,
  error?: string,
): void {
  const previous = ctx.registry.get<PushRecord>(BACKUPS, key);
  // A changed URL is another repository: nothing of this storage is there yet.
  const kept = previous && previous.url === repository.url ? previous : undefined;
  const base: PushRecord = {
    storageKind: snapshot.kind,
    project: snapshot.project,
    storage: snapshot.storage,
    repository: repository.name,
    url: repository.url,
    ...(kept
      ? {
          lastPushedSnapshot: kept.lastPushedSnapshot,
          lastPushedSnapshotAt: kept.lastPushedSnapshotAt,
          lastBackupId: kept.lastBackupId,
          lastPushedAt: kept.lastPushedAt,
          bytesAdded: kept.bytesAdded,
          bytesProcessed: kept.bytesProcessed,
          pushes: kept.pushes,
        }
      : {}),
    lastAttemptAt: attemptAt,
  };
  const record: PushRecord = result
    ? {
        ...base,
        lastPushedSnapshot: snapshot.id,
        lastPushedSnapshotAt: snapshot.createdAt,
        lastBackupId: result.backup.id,
        lastPushedAt: ctx.now().toISOString(),
        bytesAdded: result.bytesAdded,
        bytesProcessed: result.bytesProcessed,
        pushes: [
          ...(base.pushes ?? []),
          { backupId: result.backup.id, snapshot: snapshot.id, bytesAdded: result.bytesAdded },
        ].slice(-PUSH_HISTORY),
        lastError: undefined,
      }
    : { ...base, lastError: error };
  ctx.registry.put<PushRecord>(BACKUPS, key, JSON.parse(JSON.stringify(record)) as PushRecord);
}
