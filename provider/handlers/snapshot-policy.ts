/**
 * The snapshot-policy handler: records a SnapshotPolicy for its storage in the registry (the schedule
 * and retention that snapshot runs read), and forgets it on delete. Snapshots themselves are kept.
 */
import {
  describeZodError,
  snapshotPolicyIdentitySchema,
  snapshotPolicySpecSchema,
  type SnapshotPolicySpec,
} from '../../src/schema.js';
import { SpecError } from '../errors.js';
import type { Change, Handler } from './handler.js';

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
  readonly updatedAt: string;
}

export function policyKey(identity: Identity): string {
  return `${identity.project}--${identity.policy}--${identity.storage}`;
}

export const snapshotPolicyHandler: Handler<SnapshotPolicySpec, Identity, PolicyRecord> = {
  kind: 'snapshot-policy',
  validate(input) {
    const result = snapshotPolicySpecSchema.safeParse(input);
    if (!result.success) throw new SpecError(`snapshot-policy spec rejected: ${describeZodError(result.error, input)}`);
    return result.data;
  },
  validateIdentity(input) {
    const result = snapshotPolicyIdentitySchema.passthrough().safeParse(input);
    if (!result.success) throw new SpecError(`snapshot-policy spec rejected: ${describeZodError(result.error, input)}`);
    return result.data as Identity;
  },
  rootOf: (identity) => identity.root,
  describe: (identity) => `snapshot policy ${identity.policy} of ${identity.storage}`,
  read: (ctx, identity) => ctx.registry.get<PolicyRecord>('policies', policyKey(identity)),
  diff(ctx, spec, actual) {
    const storage = ctx.registry.storage(spec.storage_kind, spec.project, spec.storage);
    if (!storage) {
      return { action: 'create', changes: [{ field: 'storage', safety: 'refused', reason: `${spec.storage_kind} ${spec.storage} does not exist on this host; a snapshot policy needs its storage first` }] };
    }
    if (!actual) return { action: 'create', changes: [{ field: 'policy', to: spec.schedule, safety: 'safe' }] };
    const changes: Change[] = [];
    const compare = (field: string, from: unknown, to: unknown) => {
      if (from !== to) changes.push({ field, from: from === undefined ? '' : String(from), to: to === undefined ? '' : String(to), safety: 'safe' });
    };
    compare('schedule', actual.schedule, spec.schedule);
    compare('retention_days', actual.retentionDays, spec.retention_days);
    compare('retention_count', actual.retentionCount, spec.retention_count);
    compare('stack', actual.stack, spec.stack);
    return { action: changes.length ? 'update' : 'none', changes };
  },
  async create(ctx, spec) {
    write(ctx, spec);
  },
  async update(ctx, spec) {
    write(ctx, spec);
  },
  async delete(ctx, identity) {
    ctx.registry.remove('policies', policyKey(identity));
    ctx.log(`snapshot policy ${identity.policy} of ${identity.storage}: removed (existing snapshots are kept)`);
  },
};

function write(ctx: Parameters<typeof snapshotPolicyHandler.create>[0], spec: SnapshotPolicySpec): void {
  ctx.registry.put<PolicyRecord>('policies', policyKey(spec), {
    project: spec.project, stack: spec.stack, policy: spec.policy, storage: spec.storage, storageKind: spec.storage_kind,
    schedule: spec.schedule, retentionDays: spec.retention_days, retentionCount: spec.retention_count, updatedAt: ctx.now().toISOString(),
  });
  ctx.log(`snapshot policy ${spec.policy} of ${spec.storage}: '${spec.schedule}' UTC, keep ${[spec.retention_days && `${spec.retention_days} days`, spec.retention_count && `${spec.retention_count} snapshots`].filter(Boolean).join(' and ')}`);
}
