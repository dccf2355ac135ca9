/**
 * The off-host half of `snapshot run-due`, run after the root lock is released: each replicated policy's
 * newest scheduled snapshot not pushed yet goes to its repository, then that repository's backups of the
 * storage are thinned by the policy's remote retention. A failure is recorded and retried next run; it never
 * touches a local snapshot.
 */
import type { HandlerContext } from '../handlers/handler.js';
import type { PolicyRecord } from '../handlers/snapshot-policy.js';
import {
  BACKUPS,
  REPOSITORIES,
  pushKey,
  repositoryKey,
  type PushRecord,
  type RepositoryRecord,
} from '../backup/records.js';
import type { SnapshotRecord } from './snapshots.js';

export interface Pushed {
  readonly policy: string;
  readonly storage: string;
  readonly repository: string;
  readonly snapshot: string;
  readonly backupId: string;
  readonly bytesAdded?: number;
}

export interface ReplicationReport {
  readonly pushed: Pushed[];
  /** One line each: `<policy> of <storage> to <repository>: <error>`. */
  readonly pushFailed: string[];
  /** restic snapshot ids the remote retention forgot. */
  readonly forgotten: string[];
  /** Why nothing was pushed this run although something waits (another run is pushing). */
  readonly skipped?: string;
}

/** The policy's repository, as the policy's converge recorded it on this host. */
export function policyRepository(policy: PolicyRecord, ctx: HandlerContext): RepositoryRecord | undefined {
  if (!policy.replicateTo) return undefined;
  return ctx.registry.get<RepositoryRecord>(REPOSITORIES, repositoryKey(policy.project, policy.replicateTo));
}

/** The newest of `snapshots` unless the repository already holds it (only the newest: older ones are skipped). */
export function toPush(
  snapshots: readonly SnapshotRecord[],
  record: PushRecord | undefined,
  repository: RepositoryRecord,
): SnapshotRecord | undefined {
  const newest = [...snapshots].sort((a, b) => a.createdAt.localeCompare(b.createdAt)).at(-1);
  if (!newest) return undefined;
  // A changed URL is another repository: nothing is pushed there yet.
  if (record && record.url === repository.url && record.lastPushedSnapshot === newest.id) return undefined;
  return newest;
}

/**
 * Pushes and thins for every replicated policy, one push at a time per root (the backup lock). A run that
 * finds the lock held does not wait: the holder pushes, and whatever it leaves is pushed by the next run.
 */
export async function replicate(
  ctx: HandlerContext,
  scheduled: (policy: PolicyRecord) => SnapshotRecord[],
): Promise<ReplicationReport> {
  const policies = ctx.registry
    .list<PolicyRecord>('policies')
    .map((e) => e.record)
    .filter((p) => p.replicateTo);
  const report = { pushed: [] as Pushed[], pushFailed: [] as string[], forgotten: [] as string[] };
  if (policies.length === 0) return report;
  const { withBackupLock, BackupLockedError } = await import('../backup/backup-lock.js');
  try {
    await withBackupLock(
      ctx.root,
      'hoststore snapshot run-due',
      async () => {
        for (const policy of policies) await replicatePolicy(ctx, policy, scheduled(policy), report);
      },
      { timeoutMs: 0 },
    );
  } catch (error) {
    if (!(error instanceof BackupLockedError)) throw error;
    return { ...report, skipped: `${error.message}; this run pushes nothing, the next one pushes what is left` };
  }
  return report;
}

async function replicatePolicy(
  ctx: HandlerContext,
  policy: PolicyRecord,
  snapshots: SnapshotRecord[],
  report: { pushed: Pushed[]; pushFailed: string[]; forgotten: string[] },
): Promise<void> {
  const repository = policyRepository(policy, ctx);
  if (!repository) {
    report.pushFailed.push(
      `${policy.policy} of ${policy.storage}: its repository ${policy.replicateTo} is not recorded on this host; deploy the stack again`,
    );
    return;
  }
  const what = `${policy.policy} of ${policy.storage} to ${repository.name}`;
  const record = ctx.registry.get<PushRecord>(
    BACKUPS,
    pushKey(policy.storageKind, policy.project, policy.storage, repository.name),
  );
  const snapshot = toPush(snapshots, record, repository);
  if (!snapshot) return;
  const { pushSnapshot } = await import('../backup/push.js');
  try {
    const result = await pushSnapshot(ctx, repository, snapshot);
    report.pushed.push({
      policy: policy.policy,
      storage: policy.storage,
      repository: repository.name,
      snapshot: snapshot.id,
      backupId: result.backup.id,
      bytesAdded: result.bytesAdded,
    });
  } catch (error) {
    // pushSnapshot recorded the failure (PushRecord.lastError); the local snapshot is untouched.
    report.pushFailed.push(`${what}: ${oneLine(error)}`);
    return;
  }
  // Thinned only after a push that worked: a repository that cannot take a push cannot forget either, and a
  // prune every minute while it is down would be a storm.
  if (policy.remoteRetentionDays === undefined && policy.remoteRetentionCount === undefined) return;
  const { applyRemoteRetention } = await import('../backup/retention.js');
  const { restic } = await import('../backup/restic.js');
  try {
    // A push killed earlier (kill -9, a reboot) leaves its restic lock, and `forget` needs the repository to
    // itself: `restic unlock` removes only locks of restic processes that are gone, never a live one's.
    await restic(ctx.root, repository, ['unlock']);
    const forgotten = await applyRemoteRetention(
      ctx,
      repository,
      { kind: policy.storageKind, project: policy.project, storage: policy.storage },
      { days: policy.remoteRetentionDays, count: policy.remoteRetentionCount },
    );
    report.forgotten.push(...forgotten.forgotten.map((e) => e.id));
  } catch (error) {
    report.pushFailed.push(`${what}: remote retention: ${oneLine(error)}`);
  }
}

function oneLine(error: unknown): string {
  return ((error as Error).message ?? String(error)).split('\n')[0];
}
