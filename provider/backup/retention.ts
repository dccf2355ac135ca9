/**
 * Remote retention: the same rules as local retention (snapshots/schedule.ts `toPrune`: the newest backup
 * always stays) over one storage's backups from this host in a repository, then `restic forget` of those and a prune.
 */
import { hostname } from 'node:os';
import type { StorageKind } from '../../src/schema.js';
import type { HandlerContext } from '../handlers/handler.js';
import { redactRepositoryUrl } from '../../src/backup-spec.js';
import { recordStorageEvent } from '../journal/storage-event.js';
import { toPrune } from '../snapshots/schedule.js';
import { subjectOfSnapshot } from '../snapshots/snapshots.js';
import { listBackups, type BackupEntry } from './backups.js';
import { restic, type ResticRepository } from './restic.js';

export interface RemoteRetention {
  readonly days?: number;
  readonly count?: number;
}

export interface RetentionResult {
  /** The backups forgotten (restic ids). */
  readonly forgotten: readonly BackupEntry[];
  /** Whether `restic prune` ran (only when something was forgotten). */
  readonly pruned: boolean;
}

/** The backups that retention lets go, without touching the repository (for a dry run and the tests). */
export function remoteCandidates(
  entries: readonly BackupEntry[],
  retention: RemoteRetention,
  now: Date,
): BackupEntry[] {
  const byId = new Map(entries.map((e) => [e.id, e]));
  return toPrune(
    entries.map((e) => ({ id: e.id, createdAt: e.time })),
    { retentionDays: retention.days, retentionCount: retention.count },
    now,
  ).map((p) => byId.get(p.id) as BackupEntry);
}

/**
 * Forgets what retention lets go of `storage`'s backups in `repository`, then removes stale locks
 * (`restic unlock` removes only those of restic processes that are gone) and prunes the data no backup
 * uses any more. Run under the backup lock by the caller (run-due), outside the root lock.
 */
export async function applyRemoteRetention(
  ctx: HandlerContext,
  repository: ResticRepository,
  storage: { readonly kind: StorageKind; readonly project: string; readonly storage: string },
  retention: RemoteRetention,
): Promise<RetentionResult> {
  if (retention.days === undefined && retention.count === undefined) return { forgotten: [], pruned: false };
  // This host's backups only: restic names the host that pushed each (its hostname, as restic records it),
  // and a storage of the same name on another host is another storage with its own retention.
  const entries = (await listBackups(ctx, repository, storage)).filter((e) => e.host === hostname());
  const forget = remoteCandidates(entries, retention, ctx.now());
  if (forget.length === 0) return { forgotten: [], pruned: false };
  await restic(ctx.root, repository, ['forget', ...forget.map((e) => e.id)]);
  await restic(ctx.root, repository, ['unlock']);
  await restic(ctx.root, repository, ['prune']);
  recordStorageEvent(
    ctx,
    subjectOfSnapshot(ctx, storage),
    'backups-pruned',
    `remote retention forgot ${forget.length} backup(s) in repository ${repository.name} (${redactRepositoryUrl(repository.url)}): ${forget.map((e) => e.shortId).join(' ')}`,
    { repository: repository.name, count: forget.length, backups: forget.map((e) => e.shortId).join(' ') },
  );
  return { forgotten: forget, pruned: true };
}
