/**
 * The snapshot-policy handler: records a SnapshotPolicy for its storage in the registry (the schedule
 * and retention that snapshot runs read), and forgets it on delete. Snapshots themselves are kept.
 */
import {
  DEFAULT_MAX_FREEZE_SECONDS,
  describeZodError,
  snapshotPolicyIdentitySchema,
  snapshotPolicySpecSchema,
  type SnapshotPolicySpec,
} from '../../src/schema.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpecError } from '../errors.js';
import { replaceFileAtomically } from '../host/files.js';
import type { Change, Handler } from './handler.js';
import { listSnapshots } from '../snapshots/snapshots.js';
import { toPrune } from '../snapshots/schedule.js';
import { legacyPolicyKey, policyKey } from '../registry/keys.js';

export { policyKey } from '../registry/keys.js';

type Identity = Pick<SnapshotPolicySpec, 'root' | 'project' | 'policy' | 'storage' | 'storage_kind'>;

export interface PolicyRecord {
  readonly project: string;
  readonly stack: string;
  readonly policy: string;
  readonly storage: string;
  readonly storageKind: SnapshotPolicySpec['storage_kind'];
  readonly schedule: string;
  readonly retentionDays?: number;
  readonly retentionCount?: number;
  /** The longest its snapshots may freeze the mounted filesystem (absent in records of earlier builds: the default). */
  readonly maxFreezeSeconds?: number;
  readonly createdAt?: string;
  readonly updatedAt: string;
  /** When run-due last took this policy's snapshot; schedules fire relative to it. */
  readonly lastRunAt?: string;
  /** Where its cron entry was written (HOSTSTORE_CRON_DIR may differ when it is removed). */
  readonly cronPath?: string;
}

/** The policy as read: its record, and whether its cron entry is in place with the expected content. */
export type ActualPolicy = PolicyRecord & { readonly cron: 'ok' | 'missing' | 'changed' };

export const snapshotPolicyHandler: Handler<SnapshotPolicySpec, Identity, ActualPolicy> = {
  kind: 'snapshot-policy',
  validate(input) {
    const result = snapshotPolicySpecSchema.safeParse(input);
    if (!result.success) throw new SpecError(`snapshot-policy spec rejected: ${describeZodError(result.error, input)}`);
    return result.data;
  },
  validateIdentity(input) {
    const result = snapshotPolicyIdentitySchema.safeParse(input);
    if (!result.success) throw new SpecError(`snapshot-policy spec rejected: ${describeZodError(result.error, input)}`);
    return result.data as Identity;
  },
  rootOf: (identity) => identity.root,
  describe: (identity) => `snapshot policy ${identity.policy} of ${identity.storage}`,
  read(ctx, identity) {
    const record = ctx.registry.get<PolicyRecord>('policies', policyKey(identity));
    if (!record) return undefined;
    // Without its cron entry a policy never runs: the entry is part of what is read, not just the record.
    let text: string | undefined;
    try {
      text = fs.readFileSync(cronEntryPath(identity), 'utf8');
    } catch {
      text = undefined;
    }
    const cron =
      text === undefined ? 'missing' : text === cronBody({ ...record, root: identity.root }) ? 'ok' : 'changed';
    return { ...record, cron };
  },
  diff(ctx, spec, actual) {
    const storage = ctx.registry.storage(spec.storage_kind, spec.project, spec.storage);
    if (!storage) {
      return {
        action: 'create',
        changes: [
          {
            field: 'storage',
            kind: 'refused',
            safety: 'refused',
            reason: `${spec.storage_kind} ${spec.storage} does not exist on this host; a snapshot policy needs its storage first`,
          },
        ],
      };
    }
    if (!actual)
      return { action: 'create', changes: [{ field: 'policy', to: spec.schedule, kind: 'create', safety: 'safe' }] };
    const changes: Change[] = [];
    const compare = (field: string, from: unknown, to: unknown) => {
      if (from !== to)
        changes.push({
          field,
          from: from === undefined ? '' : String(from),
          to: to === undefined ? '' : String(to),
          kind: 'setting',
          safety: 'safe',
        });
    };
    compare('schedule', actual.schedule, spec.schedule);
    compare('retention_days', actual.retentionDays, spec.retention_days);
    compare('retention_count', actual.retentionCount, spec.retention_count);
    compare('max_freeze_seconds', actual.maxFreezeSeconds ?? DEFAULT_MAX_FREEZE_SECONDS, spec.max_freeze_seconds);
    if (actual.retentionDays !== spec.retention_days || actual.retentionCount !== spec.retention_count) {
      // A retention change applies to existing snapshots at the next prune: say which ones go.
      const key = policyKey(spec);
      const scheduled = listSnapshots(ctx, spec.storage).filter((s) => s.policy === key && s.trigger === 'schedule');
      const going = toPrune(
        scheduled,
        { retentionDays: spec.retention_days, retentionCount: spec.retention_count },
        ctx.now(),
      );
      if (going.length > 0) {
        changes.push({
          field: 'snapshots',
          from: String(scheduled.length),
          to: String(scheduled.length - going.length),
          kind: 'note',
          safety: 'safe',
          reason: `the next prune deletes ${going.length} existing snapshot(s): ${going.map((g) => g.id).join(', ')}`,
        });
      }
    }
    // Another stack of the project declared this policy first: it is that stack's; the same policy is borrowed.
    if (actual.stack !== spec.stack || actual.storageKind !== spec.storage_kind) {
      const refusal = policyOwnerRefusal(
        spec,
        actual,
        changes.filter((c) => c.field !== 'snapshots').map((c) => c.field),
      );
      if (refusal) return { action: 'update', changes: [refusal] };
      changes.length = 0;
    }
    const legacy = legacyCronEntry(spec);
    if (legacy)
      changes.push({
        field: 'cron_file',
        from: path.basename(legacy),
        to: path.basename(cronEntryPath(spec)),
        kind: 'repair',
        safety: 'safe',
        reason: 'the cron file gets the name of the policy key of this build',
      });
    if (actual.cron !== 'ok') {
      changes.push({
        field: 'cron',
        to: cronEntryPath(spec),
        kind: actual.cron === 'missing' ? 'repair' : 'drift',
        safety: 'safe',
        reason:
          actual.cron === 'missing'
            ? 'cron entry missing: rewrite it'
            : "cron entry changed behind hoststore's back: rewrite it",
      });
    }
    return { action: changes.length ? 'update' : 'none', changes };
  },
  async create(ctx, spec) {
    write(ctx, spec);
  },
  async update(ctx, spec) {
    write(ctx, spec);
  },
  async delete(ctx, identity) {
    const record = ctx.registry.get<PolicyRecord>('policies', policyKey(identity));
    if (record && ctx.stack !== undefined && record.stack !== ctx.stack) {
      ctx.log(
        `snapshot policy ${identity.policy} of ${identity.storage}: it is stack ${record.stack}'s (project ${record.project}); stack ${ctx.stack} only borrowed it, so it stays`,
      );
      return;
    }
    removeCronEntry(identity, record?.cronPath);
    ctx.registry.remove('policies', policyKey(identity));
    removeLegacyCronEntry(identity);
    ctx.log(`snapshot policy ${identity.policy} of ${identity.storage}: removed (existing snapshots are kept)`);
  },
};

/** Where cron entries go: HOSTSTORE_CRON_DIR, default /etc/cron.d. */
export function cronDir(): string {
  return process.env.HOSTSTORE_CRON_DIR || '/etc/cron.d';
}

export function cronEntryPath(identity: Pick<Identity, 'project' | 'policy' | 'storage'>): string {
  // cron.d ignores file names with dots; keys are letters, digits, hyphens and underscores.
  return path.join(cronDir(), `hoststore-${policyKey(identity)}`);
}

/** This package's CLI (dist/provider/cli.js), also when this module runs from the TypeScript sources. */
function installedCli(): string {
  const sibling = fileURLToPath(new URL('../cli.js', import.meta.url));
  return fs.existsSync(sibling) ? sibling : path.resolve(path.dirname(sibling), '../dist/provider/cli.js');
}

/** One entry per policy: run-due every minute; the schedule itself (UTC) is evaluated by run-due. */
function cronBody(
  p: Pick<PolicyRecord, 'policy' | 'storageKind' | 'storage' | 'project' | 'schedule'> & { readonly root: string },
): string {
  return [
    `# hoststore: snapshot policy '${p.policy}' of ${p.storageKind} ${p.storage} (project ${p.project}), schedule '${p.schedule}' UTC.`,
    '# run-due is checked every minute and takes the snapshot when the schedule has fired. Managed by hoststore; removed with the policy.',
    `* * * * * root ${process.execPath} ${installedCli()} snapshot run-due --root ${p.root} >/dev/null`,
    '',
  ].join('\n');
}

/**
 * The cron file an earlier build wrote for this policy (`hoststore-<project>--<policy>--<storage>`), when it
 * is there and runs this root. Its name may also be another policy's old name (the old keys were
 * ambiguous), but the entry only ever ran `run-due` for the whole root, which the new file does.
 */
function legacyCronEntry(identity: Pick<Identity, 'root' | 'project' | 'policy' | 'storage'>): string | undefined {
  const file = path.join(cronDir(), `hoststore-${legacyPolicyKey(identity)}`);
  let body: string;
  try {
    body = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return body.includes(` snapshot run-due --root ${identity.root} `) ? file : undefined;
}

function removeLegacyCronEntry(identity: Pick<Identity, 'root' | 'project' | 'policy' | 'storage'>): void {
  const legacy = legacyCronEntry(identity);
  if (legacy) fs.rmSync(legacy, { force: true });
}

/** Writes the entry (exclusive temporary, fsync, rename) and returns where. */
function installCronEntry(spec: SnapshotPolicySpec): string {
  const body = cronBody({ ...spec, storageKind: spec.storage_kind });
  fs.mkdirSync(cronDir(), { recursive: true });
  const file = cronEntryPath(spec);
  // The cron directory is not hoststore's: nothing planted in it is followed or overwritten.
  replaceFileAtomically(file, body, 0o644);
  return file;
}

/**
 * Removes the entry where it is now expected and where it was recorded as written. A recorded path is
 * removed only when it has this policy's entry name and is a regular file holding a hoststore entry.
 */
function removeCronEntry(identity: Pick<Identity, 'project' | 'policy' | 'storage'>, recorded?: string): void {
  fs.rmSync(cronEntryPath(identity), { force: true });
  removeRecordedCronEntry(identity, recorded);
}

function removeRecordedCronEntry(
  identity: Pick<Identity, 'project' | 'policy' | 'storage'>,
  recorded: string | undefined,
): void {
  const current = cronEntryPath(identity);
  if (!recorded || recorded === current || path.basename(recorded) !== path.basename(current)) return;
  try {
    const stat = fs.lstatSync(recorded);
    if (stat.isFile() && fs.readFileSync(recorded, 'utf8').startsWith('# hoststore: snapshot policy '))
      fs.rmSync(recorded);
  } catch {
    /* already gone */
  }
}

function write(ctx: Parameters<typeof snapshotPolicyHandler.create>[0], spec: SnapshotPolicySpec): void {
  const previous = ctx.registry.get<PolicyRecord>('policies', policyKey(spec));
  const now = ctx.now().toISOString();
  // The cron entry first: a record without its entry would look converged while nothing ever runs.
  const cronPath = installCronEntry(spec);
  removeRecordedCronEntry(spec, previous?.cronPath);
  ctx.registry.put<PolicyRecord>('policies', policyKey(spec), {
    project: spec.project,
    stack: previous?.stack ?? spec.stack,
    policy: spec.policy,
    storage: spec.storage,
    storageKind: spec.storage_kind,
    schedule: spec.schedule,
    retentionDays: spec.retention_days,
    retentionCount: spec.retention_count,
    maxFreezeSeconds: spec.max_freeze_seconds,
    createdAt: previous?.createdAt ?? now,
    updatedAt: now,
    lastRunAt: previous?.lastRunAt,
    cronPath,
  });
  removeLegacyCronEntry(spec);
  ctx.log(
    `snapshot policy ${spec.policy} of ${spec.storage}: '${spec.schedule}' UTC, keep ${[spec.retention_days && `${spec.retention_days} days`, spec.retention_count && `${spec.retention_count} snapshots`].filter(Boolean).join(' and ')}, freeze at most ${spec.max_freeze_seconds} s`,
  );
}

/**
 * Why a stack may not converge a policy whose record another stack of the project wrote, or that names
 * storage of another kind under the same key (a volume and a directory of one name); undefined when it
 * declares the same policy (it then borrows it, and the record keeps its owner).
 */
function policyOwnerRefusal(
  spec: SnapshotPolicySpec,
  actual: PolicyRecord,
  differing: readonly string[],
): Change | undefined {
  const what = `snapshot policy ${spec.policy} of ${spec.storage_kind} ${spec.storage}`;
  if (actual.storageKind !== spec.storage_kind) {
    return {
      field: 'storage_kind',
      from: actual.storageKind,
      to: spec.storage_kind,
      kind: 'refused',
      safety: 'refused',
      reason: `${what}: project ${spec.project} already has policy ${spec.policy} on ${actual.storageKind} ${actual.storage} (stack ${actual.stack}), and one project's policy names one storage; give this policy another name`,
    };
  }
  if (differing.length === 0) return undefined;
  return {
    field: 'stack',
    from: actual.stack,
    to: spec.stack,
    kind: 'refused',
    safety: 'refused',
    reason: `${what} belongs to stack ${actual.stack} of project ${actual.project}, which set its ${differing.join(', ')}; stack ${spec.stack} declares it with other values and cannot change them. Declare it as stack ${actual.stack} does to borrow it, change it in stack ${actual.stack}, or give this policy another name`,
  };
}
