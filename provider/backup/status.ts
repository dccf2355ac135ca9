/**
 * `backup status`: per replicated storage and repository, its newest local snapshot against the last one
 * pushed, read from the registry alone (no restic run, so it answers even when the repository is down).
 */
import type { StorageKind } from '../../src/schema.js';
import type { HandlerContext } from '../handlers/handler.js';
import { listSnapshots, type SnapshotRecord } from '../snapshots/snapshots.js';
import type { PolicyRecord } from '../handlers/snapshot-policy.js';
import { BACKUPS, REPOSITORIES, pushKey, repositoryKey, type PushRecord, type RepositoryRecord } from './records.js';

export type BackupState = 'in-sync' | 'behind' | 'failing' | 'stopped';

export interface BackupStatusRow {
  readonly kind: StorageKind;
  readonly project: string;
  readonly storage: string;
  readonly repository: string;
  readonly url?: string;
  /**
   * `in-sync`: the newest local snapshot is pushed; `behind`: a newer one is not (yet); `failing`: the last
   * attempt failed; `stopped`: the policy that pushed it there was removed or replicates elsewhere now, and
   * nothing was pushed by hand since (its pushes so far are shown; nothing retries).
   */
  readonly state: BackupState;
  readonly lastSnapshot?: string;
  readonly lastSnapshotAt?: string;
  readonly lastPushedSnapshot?: string;
  readonly lastPushedAt?: string;
  readonly lastBackupId?: string;
  /** Newest local snapshot's time minus the last pushed one's (0 in sync; absent when never pushed). */
  readonly lagSeconds?: number;
  /** What the last successful push added to the repository, and what it read. */
  readonly bytesAdded?: number;
  readonly bytesProcessed?: number;
  readonly lastAttemptAt?: string;
  /** The last attempt's error, when it failed. */
  readonly error?: string;
}

/** The newest local snapshot of a storage (safety snapshots of an in-place restore are not the storage's history). */
function newestSnapshot(
  ctx: HandlerContext,
  kind: StorageKind,
  project: string,
  storage: string,
): SnapshotRecord | undefined {
  const all = listSnapshots(ctx, storage).filter(
    (s) => s.kind === kind && s.project === project && s.trigger !== 'safety',
  );
  return all[all.length - 1];
}

/** One row of a storage's pushes to one repository. */
export function statusRow(
  ctx: HandlerContext,
  target: { kind: StorageKind; project: string; storage: string; repository: string },
  push: PushRecord | undefined,
  replicated = true,
): BackupStatusRow {
  // Its policy stopped pushing it (removed, or pointed elsewhere) and nothing was attempted since: nothing
  // will retry it, so its last failure is history, not an alarm.
  const stopped = !replicated && push?.stoppedAt !== undefined && (push.lastAttemptAt ?? '') <= push.stoppedAt;
  const newest = newestSnapshot(ctx, target.kind, target.project, target.storage);
  const url =
    push?.url ??
    ctx.registry.get<RepositoryRecord>(REPOSITORIES, repositoryKey(target.project, target.repository))?.url;
  const failing =
    !stopped &&
    push?.lastError !== undefined &&
    (!push.lastPushedAt || (push.lastAttemptAt ?? '') >= push.lastPushedAt);
  const pushedAt = push?.lastPushedSnapshotAt;
  const inSync =
    push?.lastPushedSnapshot !== undefined &&
    (!newest || newest.id === push.lastPushedSnapshot || (pushedAt !== undefined && newest.createdAt <= pushedAt));
  const lagSeconds =
    push?.lastPushedSnapshot === undefined
      ? undefined
      : inSync || !newest || !pushedAt
        ? 0
        : Math.max(0, Math.round((Date.parse(newest.createdAt) - Date.parse(pushedAt)) / 1000));
  const row: BackupStatusRow = {
    kind: target.kind,
    project: target.project,
    storage: target.storage,
    repository: target.repository,
    url,
    state: stopped ? 'stopped' : failing ? 'failing' : inSync ? 'in-sync' : 'behind',
    lastSnapshot: newest?.id,
    lastSnapshotAt: newest?.createdAt,
    lastPushedSnapshot: push?.lastPushedSnapshot,
    lastPushedAt: push?.lastPushedAt,
    lastBackupId: push?.lastBackupId,
    lagSeconds,
    bytesAdded: push?.bytesAdded,
    bytesProcessed: push?.bytesProcessed,
    lastAttemptAt: push?.lastAttemptAt,
    error: failing ? push?.lastError : undefined,
  };
  // Absent fields left out, so `--json` shows what is known.
  return JSON.parse(JSON.stringify(row)) as BackupStatusRow;
}

/**
 * Every replicated storage on this root: each push record, and each policy that replicates but has not
 * pushed yet (`behind`), sorted by project, storage and repository.
 */
export function backupStatus(ctx: HandlerContext): BackupStatusRow[] {
  const rows = new Map<string, BackupStatusRow>();
  const replicated = replicatedKeys(ctx);
  for (const { key, record } of ctx.registry.list<PushRecord>(BACKUPS))
    rows.set(
      key,
      statusRow(
        ctx,
        { kind: record.storageKind, project: record.project, storage: record.storage, repository: record.repository },
        record,
        replicated.has(key),
      ),
    );
  for (const { record } of ctx.registry.list<PolicyRecord>('policies')) {
    const repository = record.replicateTo;
    if (!repository) continue;
    const key = pushKey(record.storageKind, record.project, record.storage, repository);
    if (!rows.has(key))
      rows.set(
        key,
        statusRow(
          ctx,
          { kind: record.storageKind, project: record.project, storage: record.storage, repository },
          undefined,
        ),
      );
  }
  return [...rows.values()].sort(
    (a, b) =>
      a.project.localeCompare(b.project) ||
      a.storage.localeCompare(b.storage) ||
      a.repository.localeCompare(b.repository),
  );
}

/** The push keys some policy on this root replicates (storage and repository): the pushes that run-due retries. */
export function replicatedKeys(ctx: HandlerContext): Set<string> {
  const keys = new Set<string>();
  for (const { record } of ctx.registry.list<PolicyRecord>('policies'))
    if (record.replicateTo) keys.add(pushKey(record.storageKind, record.project, record.storage, record.replicateTo));
  return keys;
}
