/**
 * `hoststore snapshot run-due` (run every minute by cron) and `snapshot prune`: take the snapshots whose
 * schedule fired since the policy last ran (one catch-up after downtime, not a storm), then let go of
 * what retention allows. Under the root lock, so two runs at once take each snapshot once. Then, with the
 * root lock released (a push takes minutes; deploys must not wait), push replicated policies' snapshots.
 */
import type { HandlerContext } from '../handlers/handler.js';
import { policyKey, type PolicyRecord } from '../handlers/snapshot-policy.js';
import { withRootLock } from '../registry/lock.js';
import {
  completePendingChecksums,
  deleteSnapshot,
  listSnapshots,
  takeSnapshot,
  type SnapshotRecord,
} from './snapshots.js';
import { isDue, toPrune } from './schedule.js';
import { futureStart, scheduleStart } from './clock-skew.js';
import { replicate, type ReplicationReport } from './replicate.js';

export interface RunReport extends ReplicationReport {
  readonly taken: SnapshotRecord[];
  readonly pruned: string[];
  readonly failed: string[];
  /** Policies whose last run lay in the future (the clock moved back): their schedules restarted from now. */
  readonly warnings: string[];
}

/** Scheduled snapshots of one policy, the ones its retention governs. */
export function policySnapshots(ctx: HandlerContext, policy: PolicyRecord): SnapshotRecord[] {
  const key = policyKey({ project: policy.project, policy: policy.policy, storage: policy.storage });
  return listSnapshots(ctx, policy.storage).filter((s) => s.policy === key && s.trigger === 'schedule');
}

export function pruneCandidates(ctx: HandlerContext, policy: PolicyRecord, now: Date): SnapshotRecord[] {
  return toPrune(policySnapshots(ctx, policy), policy, now);
}

async function prune(ctx: HandlerContext, policies: PolicyRecord[], dryRun: boolean): Promise<string[]> {
  const pruned: string[] = [];
  for (const policy of policies) {
    for (const snapshot of pruneCandidates(ctx, policy, ctx.now())) {
      if (!dryRun) await deleteSnapshot(ctx, snapshot.id);
      pruned.push(snapshot.id);
    }
  }
  return pruned;
}

export async function runDue(ctx: HandlerContext): Promise<RunReport> {
  const local = await takeAndPrune(ctx);
  // Outside the root lock: the snapshots are immutable files, and a push keeps its file open if pruned meanwhile.
  const replicated = await replicate(ctx, (policy) => policySnapshots(ctx, policy));
  return { ...local, ...replicated };
}

async function takeAndPrune(ctx: HandlerContext): Promise<Omit<RunReport, keyof ReplicationReport>> {
  return withRootLock(ctx.root, { holder: 'hoststore snapshot run-due' }, async () => {
    const now = ctx.now();
    const policies = ctx.registry.list<PolicyRecord>('policies').map((e) => e.record);
    const taken: SnapshotRecord[] = [];
    const failed: string[] = [];
    const warnings: string[] = [];
    for (const policy of policies) {
      const key = policyKey({ project: policy.project, policy: policy.policy, storage: policy.storage });
      const skew = futureStart(policy, now);
      if (skew) {
        // Waiting for the clock to catch up would mean no snapshots until then: restart from now.
        warnings.push(`${skew}; scheduling restarts from now`);
        ctx.registry.put<PolicyRecord>('policies', key, { ...policy, lastRunAt: now.toISOString() });
        continue;
      }
      if (!isDue(policy.schedule, scheduleStart(policy), now)) continue;
      const storage = ctx.registry.storage(policy.storageKind, policy.project, policy.storage);
      try {
        if (!storage || storage.state !== 'ready')
          throw new Error(`${policy.storageKind} ${policy.storage} is ${storage ? storage.state : 'gone'}`);
        const snapshot = await takeSnapshot(ctx, storage, 'schedule', key, {
          maxFreezeSeconds: policy.maxFreezeSeconds,
        });
        taken.push(snapshot);
        ctx.registry.put<PolicyRecord>('policies', key, { ...policy, lastRunAt: now.toISOString() });
      } catch (error) {
        failed.push(`${policy.policy} of ${policy.storage}: ${(error as Error).message}`);
      }
    }
    const pruned = await prune(ctx, policies, false);
    await completePendingChecksums(ctx);
    return { taken, pruned, failed, warnings };
  });
}

export async function pruneAll(ctx: HandlerContext, dryRun: boolean): Promise<string[]> {
  return withRootLock(ctx.root, { holder: 'hoststore snapshot prune' }, async () =>
    prune(
      ctx,
      ctx.registry.list<PolicyRecord>('policies').map((e) => e.record),
      dryRun,
    ),
  );
}
