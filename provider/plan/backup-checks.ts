/**
 * The plan's host checks about off-host backups on one root: restic missing while something replicates,
 * a replicated storage whose last push failed (with its error), and one whose newest snapshot has waited
 * unpushed for more than two periods of its schedule (run-due not running, or every push skipped).
 */
import type { HandlerContext } from '../handlers/handler.js';
import { policyKey, type PolicyRecord } from '../handlers/snapshot-policy.js';
import { BACKUPS, pushKey, type PushRecord } from '../backup/records.js';
import { resticMissing } from '../backup/preflight.js';
import { replicatedKeys } from '../backup/status.js';
import { listSnapshots } from '../snapshots/snapshots.js';
import { nextFire } from '../snapshots/schedule.js';
import { commandHint } from '../command-hint.js';
import type { DesiredSpec } from './desired.js';

export interface BackupCheck {
  readonly level: 'warning';
  readonly message: string;
}

/** How long one period of `schedule` is around `now` (two consecutive fires), or undefined if it never fires. */
export function schedulePeriodMs(schedule: string, now: Date): number | undefined {
  const first = nextFire(schedule, now);
  const second = first && nextFire(schedule, first);
  return first && second ? second.getTime() - first.getTime() : undefined;
}

function hours(ms: number): string {
  return ms >= 3 * 86_400_000 ? `${Math.round(ms / 86_400_000)} days` : `${Math.round(ms / 3_600_000)} h`;
}

export function backupChecks(ctx: HandlerContext, desired: readonly DesiredSpec[]): BackupCheck[] {
  const root = ctx.root;
  const checks: BackupCheck[] = [];
  const policies = ctx.registry
    .list<PolicyRecord>('policies')
    .map((e) => e.record)
    .filter((p) => p.replicateTo);
  const declared = desired.some((d) => d.kind === 'snapshot-policy' && d.spec.root === root && d.spec.replicate_to);
  if (policies.length || declared) {
    const missing = resticMissing();
    // A warning, not an error: the policies' own items refuse what needs restic, and a deploy of anything else
    // must not wait for it; run-due meanwhile keeps taking local snapshots.
    if (missing)
      checks.push({ level: 'warning', message: `backups from ${root} cannot be pushed or restored: ${missing}` });
  }
  const now = ctx.now();
  const replicated = replicatedKeys(ctx);
  for (const { key, record } of ctx.registry.list<PushRecord>(BACKUPS)) {
    // A storage whose policy stopped pushing it: nothing retries it, so it is no warning (`backup status`: stopped).
    const stopped = record.stoppedAt !== undefined && (record.lastAttemptAt ?? '') <= record.stoppedAt;
    if (!record.lastError || (stopped && !replicated.has(key))) continue;
    checks.push({
      level: 'warning',
      message: `backups of ${record.storageKind} ${record.storage} to ${record.repository} are failing (last attempt ${record.lastAttemptAt ?? 'unknown'}, last pushed ${record.lastPushedAt ?? 'never'}): ${record.lastError}; local snapshots are kept and run-due tries again; see \`${commandHint(root, 'backup status')}\``,
    });
  }
  for (const policy of policies) {
    const repository = policy.replicateTo as string;
    const record = ctx.registry.get<PushRecord>(
      BACKUPS,
      pushKey(policy.storageKind, policy.project, policy.storage, repository),
    );
    if (record?.lastError) continue;
    const key = policyKey({ project: policy.project, policy: policy.policy, storage: policy.storage });
    const scheduled = listSnapshots(ctx, policy.storage)
      .filter((s) => s.policy === key && s.trigger === 'schedule')
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    const newest = scheduled.at(-1);
    if (!newest || record?.lastPushedSnapshot === newest.id) continue;
    const period = schedulePeriodMs(policy.schedule, now);
    if (period === undefined) continue;
    // Since the last snapshot that made it off the host (or, never pushed, the first that should have).
    const pushed = scheduled.find((s) => s.id === record?.lastPushedSnapshot);
    const since = pushed
      ? Date.parse(pushed.createdAt)
      : record?.lastPushedAt
        ? Date.parse(record.lastPushedAt)
        : Date.parse(scheduled[0].createdAt);
    const lag = now.getTime() - since;
    if (lag <= 2 * period) continue;
    checks.push({
      level: 'warning',
      message: `backups of ${policy.storageKind} ${policy.storage} to ${repository} are behind: snapshot ${newest.id} is not pushed, ${pushed ? `the last pushed (${pushed.id}) is` : record?.lastPushedAt ? 'the last push was' : 'nothing pushed yet, the first snapshot is'} ${hours(lag)} old, more than two periods of '${policy.schedule}'; check that run-due runs (its cron entry) and \`${commandHint(root, 'backup status')}\``,
    });
  }
  return checks;
}
