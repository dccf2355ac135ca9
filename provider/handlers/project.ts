/**
 * The project handler: retires what a stack's code no longer declares. Terraform forgets a removed
 * resource's destroy-time provisioner along with its block, so each StorageProject renders a manifest
 * of everything it declares; converging it unmounts the mounts, and applies the removal policy of the
 * storage, that this stack made and no longer lists (retain by default: the data stays). Under Terraform
 * the manifest's `handle project converge` (../commands/converge-project.ts) plans the whole project,
 * retirement included, and applies it.
 */
import { describeZodError, projectManifestSchema, type ProjectManifest } from '../../src/schema.js';
import { SpecError } from '../errors.js';
import type { MountRecord, StorageRecord } from '../registry/store.js';
import type { PolicyRecord } from './snapshot-policy.js';
import { snapshotPolicyHandler } from './snapshot-policy.js';
import { mountHandler, mountIdentityOfRecord } from './mount.js';
import { storageHandler } from './storage.js';
import type { Change, Handler, HandlerContext } from './handler.js';

export interface Orphans {
  readonly mounts: MountRecord[];
  readonly storage: StorageRecord[];
  readonly policies: PolicyRecord[];
  /**
   * Mounts still declared but moved to other storage by the same plan, which applies them before it
   * retires anything: they no longer hold the storage they mount now when its removal policy runs.
   */
  readonly movedAway?: MountRecord[];
}

type Identity = Pick<ProjectManifest, 'root' | 'project' | 'stack'>;

const mountEntry = (m: { service: string; replica: number; mountPath: string }) =>
  `${m.service}/${m.replica}:${m.mountPath}`;

/** What this stack's project made on the host and no longer declares. */
export function findOrphans(ctx: HandlerContext, manifest: ProjectManifest): Orphans {
  const mine = <T extends { project: string; stack: string }>(r: T) =>
    r.project === manifest.project && r.stack === manifest.stack;
  const storage = new Set(manifest.storage);
  const mounts = new Set(manifest.mounts);
  const policies = new Set(manifest.policies);
  return {
    mounts: ctx.registry.mounts().filter((m) => mine(m) && !mounts.has(mountEntry(m))),
    storage: ctx.registry
      .list<StorageRecord>('storage')
      .map((e) => e.record)
      .filter((r) => mine(r) && r.state !== 'retained' && !storage.has(`${r.kind}:${r.name}`)),
    policies: ctx.registry
      .list<PolicyRecord>('policies')
      .map((e) => e.record)
      .filter((p) => mine(p) && !policies.has(`${p.policy}:${p.storage}`)),
  };
}

/** A refusal when storage whose policy deletes it is mounted by something this retirement leaves in place. */
function stillMounted(ctx: HandlerContext, s: StorageRecord, leaving: readonly MountRecord[]): Change | undefined {
  if (s.removalPolicy === 'retain') return undefined;
  const gone = new Set(leaving.map((m) => mountEntry(m) + m.project));
  const staying = ctx.registry.mountsOf(s.kind, s.project, s.name).filter((m) => !gone.has(mountEntry(m) + m.project));
  if (staying.length === 0) return undefined;
  return {
    field: 'storage',
    from: `${s.kind} ${s.name}`,
    kind: 'refused',
    safety: 'refused',
    reason: `${s.kind} ${s.name} (removalPolicy '${s.removalPolicy}') is still mounted by ${staying.map((m) => `${m.project}/${m.service} replica ${m.replica} (stack ${m.stack})`).join(', ')}; remove those Mounts first, or set removalPolicy 'retain' before removing it`,
  };
}

export const projectHandler: Handler<ProjectManifest, Identity, Orphans> = {
  kind: 'project',
  validate(input) {
    const result = projectManifestSchema.safeParse(input);
    if (!result.success) throw new SpecError(`project spec rejected: ${describeZodError(result.error, input)}`);
    return result.data;
  },
  validateIdentity(input) {
    return this.validate(input);
  },
  rootOf: (identity) => identity.root,
  describe: (identity) => `project ${identity.project} (stack ${identity.stack})`,
  read: (ctx, identity) => findOrphans(ctx, identity as ProjectManifest),
  diff(ctx, _spec, orphans) {
    if (!orphans) return { action: 'none', changes: [] };
    const changes: Change[] = [
      ...orphans.mounts.map((m) => ({
        field: 'mount',
        from: `${m.storage} -> ${m.service}[${m.replica}]:${m.mountPath}`,
        kind: 'delete' as const,
        safety: 'safe' as const,
        reason: 'no longer declared: unmount',
      })),
      // Deleting storage that others still mount would fail half-way (after this stack's mounts are gone).
      ...orphans.storage
        .map((s) => stillMounted(ctx, s, [...orphans.mounts, ...(orphans.movedAway ?? [])]))
        .filter((c): c is Change => c !== undefined),
      ...orphans.storage.map((s) => ({
        field: 'storage',
        from: `${s.kind} ${s.name}`,
        kind: s.removalPolicy === 'retain' ? ('retain' as const) : ('delete' as const),
        safety: s.removalPolicy === 'destroy' ? ('data-loss' as const) : ('safe' as const),
        declared: s.removalPolicy === 'destroy',
        reason:
          s.removalPolicy === 'destroy'
            ? "no longer declared, removalPolicy 'destroy': its data is deleted"
            : `no longer declared: ${s.removalPolicy === 'retain' ? 'retained, data kept' : 'snapshot, then delete'}`,
      })),
      ...orphans.policies.map((p) => ({
        field: 'policy',
        from: `${p.policy} of ${p.storage}`,
        kind: 'delete' as const,
        safety: 'safe' as const,
        reason: 'no longer declared: removed',
      })),
    ];
    return { action: changes.length ? 'update' : 'none', changes };
  },
  async create() {
    /* a manifest has nothing of its own on the host */
  },
  async update(ctx, spec, orphans) {
    for (const m of orphans.mounts) {
      await mountHandler.delete(ctx, mountIdentityOfRecord(spec.root, m));
    }
    for (const p of orphans.policies) {
      await snapshotPolicyHandler.delete(ctx, {
        root: spec.root,
        project: p.project,
        policy: p.policy,
        storage: p.storage,
        storage_kind: p.storageKind,
      });
    }
    for (const s of orphans.storage) {
      await storageHandler.delete(ctx, { kind: s.kind, root: spec.root, project: s.project, name: s.name });
    }
  },
  async delete() {
    /* each carrier's own destroy provisioner retires it when the stack is destroyed */
  },
};
