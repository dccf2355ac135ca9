/**
 * hoststore's own plan: the desired specs of a synth output against what the registry and the host
 * really hold, one item per resource with an action and a safety class, plus host-wide checks. The same
 * handlers' `read` and `diff` that Terraform's provisioners use decide every item.
 */
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { FILESYSTEMS, type Filesystem } from '../../src/schema.js';
import { findTool } from '../exec.js';
import { HoststoreError } from '../errors.js';
import { makeContext, type Change, type Diff, type HandlerContext, type Safety } from '../handlers/handler.js';
import type { AnyHandler } from '../handlers/by-kind.js';
import { storageHandler } from '../handlers/storage.js';
import { mountHandler } from '../handlers/mount.js';
import { snapshotPolicyHandler } from '../handlers/snapshot-policy.js';
import { projectHandler } from '../handlers/project.js';
import type { StorageRecord } from '../registry/store.js';
import type { PolicyRecord } from '../handlers/snapshot-policy.js';
import { futureStart } from '../snapshots/clock-skew.js';
import { snapshotChecks } from './snapshot-checks.js';
import type { DesiredSpec, SpecKind } from './desired.js';
import { spaceNeeded } from './space-needed.js';
import { PlannedOwners } from './planned-owners.js';
import { replacedDataChange, seenOnHost } from './replaced-data.js';
import { commandHint } from '../command-hint.js';

export type PlanAction = 'create' | 'adopt' | 'update' | 'replace' | 'repair' | 'delete' | 'retain' | 'no-op';

export interface PlanItem {
  readonly stack: string;
  readonly address: string;
  readonly kind: SpecKind | 'orphan';
  /** What on the host: `disk pg`, `mount pg -> db[1]:/data`. */
  readonly subject: string;
  /** The storage (or mount's storage) name, which `--allow-data-loss` names. */
  readonly name: string;
  readonly action: PlanAction;
  readonly safety: Safety;
  readonly changes: readonly Change[];
  /** The spec to converge (absent for orphans, which are retired through their manifest). */
  readonly spec?: Record<string, string>;
  readonly manifest?: Record<string, string>;
}

export interface HostCheck {
  /** `info`: how this root behaves (snapshot method, expected freeze), nothing to fix. */
  readonly level: 'info' | 'warning' | 'error';
  readonly message: string;
}

export interface Plan {
  readonly version: 1;
  readonly createdAt: string;
  readonly roots: string[];
  readonly items: PlanItem[];
  readonly checks: HostCheck[];
  readonly summary: Record<PlanAction | 'refused' | 'data-loss' | 'downtime', number>;
  /** Hash of every item's action and changes: a saved plan applies only while it still matches. */
  readonly fingerprint: string;
}

/** Every kind's handler: a plan and an apply use them all (the table in src/kinds.ts names the kinds). */
export const HANDLERS: { readonly [K in SpecKind]: AnyHandler } = {
  storage: storageHandler,
  mount: mountHandler,
  'snapshot-policy': snapshotPolicyHandler,
  project: projectHandler,
};
const SAFETY_ORDER: Safety[] = ['safe', 'downtime', 'data-loss', 'refused'];

export function worst(changes: readonly Change[]): Safety {
  return changes.reduce<Safety>(
    (w, c) => (SAFETY_ORDER.indexOf(c.safety) > SAFETY_ORDER.indexOf(w) ? c.safety : w),
    'safe',
  );
}

/**
 * An item's action from its handler's and the kinds of its changes: other storage at a mount's place is a
 * replace; drift, or work the record says is unfinished, is a repair.
 */
export function itemAction(action: Diff['action'], changes: readonly Change[]): PlanAction {
  if (action === 'create') return 'create';
  if (action === 'adopt') return 'adopt';
  if (action === 'none') return 'no-op';
  if (changes.some((c) => c.kind === 'replace')) return 'replace';
  return changes.some((c) => c.kind === 'drift' || c.kind === 'repair') ? 'repair' : 'update';
}

function subjectOf(kind: SpecKind, spec: Record<string, string>): { subject: string; name: string } {
  switch (kind) {
    case 'storage':
      return { subject: `${spec.kind} ${spec.name}`, name: spec.name };
    case 'mount':
      return {
        subject: `mount ${spec.storage} -> ${spec.service}[${spec.replica}]:${spec.mount_path}${spec.read_only === 'true' ? ' (ro)' : ''}`,
        name: spec.storage,
      };
    case 'snapshot-policy':
      return { subject: `snapshot policy ${spec.policy} of ${spec.storage} '${spec.schedule}'`, name: spec.storage };
    case 'project':
      return { subject: `project ${spec.project} (stack ${spec.stack})`, name: spec.project };
  }
}

/** Plans every desired spec against the host; orphans of each project manifest become retain/delete items. */
export function makePlan(desired: DesiredSpec[], now = new Date()): Plan {
  const items: PlanItem[] = [];
  const contexts = new Map<string, HandlerContext>();
  // A plan only reads, so each root's registry is read once and remembered.
  const ctxFor = (root: string) =>
    contexts.get(root) ??
    contexts.set(root, makeContext(root, { log: () => undefined, cacheRegistry: true })).get(root)!;
  const plannedStorage = new Set<string>();
  const plannedOwners = new PlannedOwners();
  // Allocation of each image the plan already inspected, so the space check does not stat it again.
  const allocated = new Map<string, number>();
  for (const d of desired) {
    const handler = HANDLERS[d.kind];
    const spec = handler.validate(d.spec);
    const ctx = ctxFor(spec.root);
    const { subject, name } = subjectOf(d.kind, d.spec);
    if (d.kind === 'project') {
      for (const item of orphanItems(ctx, d, spec, desired)) items.push(item);
      continue;
    }
    const actual = handler.read(ctx, spec);
    if (d.kind === 'storage' && actual?.allocatedBytes !== undefined) allocated.set(actual.path, actual.allocatedBytes);
    let diff = handler.diff(ctx, spec, actual);
    // A mount or policy of storage this same plan creates is fine, not "storage does not exist".
    const storageKey =
      d.kind === 'storage' ? `${d.spec.kind}:${d.spec.name}` : `${d.spec.storage_kind}:${d.spec.storage}`;
    if (d.kind === 'storage' && (diff.action === 'create' || diff.action === 'adopt')) plannedStorage.add(storageKey);
    if (d.kind !== 'storage' && plannedStorage.has(storageKey)) {
      const missing = (c: Change) => c.field === 'storage' && c.kind === 'refused';
      const rest = diff.changes.filter((c) => !missing(c));
      // Other storage at a mount's place is replaced (unmounted first), whether or not this plan creates the new one.
      diff = rest.some((c) => c.kind === 'replace')
        ? { action: 'update', changes: rest }
        : {
            action: 'create',
            changes: rest.concat(
              diff.changes.some(missing)
                ? [{ field: subject.split(' ')[0], to: subject, kind: 'create' as const, safety: 'safe' as const }]
                : [],
            ),
          };
    }
    if (d.kind === 'storage') diff = plannedOwners.judgeStorage(spec, diff);
    if (d.kind === 'storage' && diff.action === 'create') {
      const replaced = replacedDataChange(d.spec, desired, seenOnHost(ctx), (seen) =>
        stillDeclared(desired, seen)
          ? 'retain'
          : ctx.registry.storage(seen.storageKind, seen.project, seen.storage)?.removalPolicy,
      );
      if (replaced) diff = { ...diff, changes: [...diff.changes, replaced] };
    }
    items.push({
      stack: d.stack,
      address: d.address,
      kind: d.kind,
      subject,
      name,
      action: itemAction(diff.action, diff.changes),
      safety: worst(diff.changes),
      changes: diff.changes,
      spec: d.spec,
    });
  }
  const roots = [...contexts.keys()];
  const checks = roots.flatMap((root) => hostChecks(ctxFor(root), desired, allocated, items));
  return finish({ version: 1, createdAt: now.toISOString(), roots, items, checks });
}

function stillDeclared(
  desired: readonly DesiredSpec[],
  seen: { project: string; storage: string; storageKind: string },
): boolean {
  return desired.some(
    (d) =>
      d.kind === 'storage' &&
      d.spec.project === seen.project &&
      d.spec.name === seen.storage &&
      d.spec.kind === seen.storageKind,
  );
}

function orphanItems(
  ctx: HandlerContext,
  d: DesiredSpec,
  manifest: ReturnType<typeof projectHandler.validate>,
  desired: readonly DesiredSpec[],
): PlanItem[] {
  const found = projectHandler.read(ctx, manifest);
  if (!found) return [];
  // A mount this plan points at other storage moves (in the apply, before any retirement) off the storage it holds now.
  const wanted = new Map(
    desired
      .filter((o) => o.kind === 'mount' && o.spec.root === manifest.root)
      .map((o) => [
        `${o.spec.project}/${o.spec.service}/${o.spec.replica}:${o.spec.mount_path}`,
        `${o.spec.storage_kind}:${o.spec.storage}`,
      ]),
  );
  const movedAway = ctx.registry.mounts().filter((m) => {
    const to = wanted.get(`${m.project}/${m.service}/${m.replica}:${m.mountPath}`);
    return to !== undefined && to !== `${m.storageKind}:${m.storage}`;
  });
  const orphans = { ...found, movedAway };
  const diff = projectHandler.diff(ctx, manifest, orphans);
  return diff.changes.map((change) => {
    const storage =
      change.field === 'storage' ? orphans.storage.find((s) => `${s.kind} ${s.name}` === change.from) : undefined;
    const action: PlanAction = change.kind === 'retain' ? 'retain' : 'delete';
    return {
      stack: d.stack,
      address: `${d.address} (removed from code)`,
      kind: 'orphan' as const,
      subject: `${change.field === 'storage' ? '' : `${change.field} `}${change.from ?? ''}`,
      name: storage?.name ?? (change.from ?? '').split(' ')[0],
      action,
      safety: change.safety,
      changes: [change],
      manifest: d.spec,
    };
  });
}

/** Thin-provisioning overcommit, space, mkfs tools, privileges. */
export function hostChecks(
  ctx: HandlerContext,
  desired: DesiredSpec[],
  _allocatedByPath: ReadonlyMap<string, number> = new Map(),
  items: readonly PlanItem[] = [],
): HostCheck[] {
  const root = ctx.root;
  const checks: HostCheck[] = [];
  if (process.getuid?.() !== 0)
    checks.push({ level: 'error', message: 'not running as root: loop devices and mounts need root' });
  const existing = ctx.registry.list<StorageRecord>('storage').map((e) => e.record);
  const nominal = new Map<string, number>();
  for (const r of existing) if (r.sizeGb) nominal.set(`${r.kind}:${r.name}`, r.sizeGb);
  const fsNeeded = new Set<Filesystem>();
  const existingKeys = new Set(existing.map((r) => `${r.kind}:${r.name}`));
  for (const d of desired) {
    if (d.kind !== 'storage' || d.spec.root !== root) continue;
    const size = Number(d.spec.size_gb || 0);
    const key = `${d.spec.kind}:${d.spec.name}`;
    nominal.set(key, Math.max(nominal.get(key) ?? 0, size));
    if ((FILESYSTEMS as readonly string[]).includes(d.spec.filesystem) && !existingKeys.has(key))
      fsNeeded.add(d.spec.filesystem as Filesystem);
  }
  for (const fsType of fsNeeded) {
    if (!findTool(`mkfs.${fsType}`))
      checks.push({
        level: 'error',
        message: `mkfs.${fsType} is missing: install ${fsType === 'ext4' ? 'e2fsprogs' : fsType === 'xfs' ? 'xfsprogs' : 'btrfs-progs'} before applying`,
      });
  }
  let probe = root;
  while (!fs.existsSync(probe) && probe !== '/') probe = probe.replace(/\/[^/]*$/, '') || '/';
  const stat = fs.statfsSync(probe);
  const free = stat.bavail * stat.bsize;
  const nominalBytes = [...nominal.values()].reduce((a, b) => a + b, 0) * 1024 ** 3;
  if (nominalBytes > free) {
    checks.push({
      level: 'warning',
      message: `thin-provisioning overcommit on ${root}: ${gib(nominalBytes)} nominal vs ${gib(free)} free (${(nominalBytes / Math.max(free, 1)).toFixed(1)}x); disks fail with ENOSPC if they fill up`,
    });
  }
  // Data that already exists needs no new space: only what this apply writes must fit.
  const needed = spaceNeeded(ctx, items);
  if (needed.bytes > free) {
    checks.push({
      level: 'error',
      message: `the apply writes about ${mib(needed.bytes)} new on ${root} (${needed.parts.join(', ')}) but only ${mib(free)} is free; free some space or create less at once`,
    });
  }
  for (const { record } of ctx.registry.list<PolicyRecord>('policies')) {
    const skew = futureStart(record, ctx.now());
    if (skew)
      checks.push({
        level: 'warning',
        message: `${skew}; run \`${commandHint(root, 'snapshot run-due')}\` to restart its schedule from now`,
      });
  }
  checks.push(...snapshotChecks(ctx, desired));
  return checks;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/** Adds the summary counts and the fingerprint of the items. */
export function finish(plan: Omit<Plan, 'summary' | 'fingerprint'>): Plan {
  const summary = {
    create: 0,
    adopt: 0,
    update: 0,
    replace: 0,
    repair: 0,
    delete: 0,
    retain: 0,
    'no-op': 0,
    refused: 0,
    'data-loss': 0,
    downtime: 0,
  };
  for (const item of plan.items) {
    summary[item.action] += 1;
    if (item.safety !== 'safe') summary[item.safety] += 1;
  }
  const fingerprint = createHash('sha256')
    .update(JSON.stringify(plan.items.map((i) => [i.address, i.subject, i.action, i.changes])))
    .digest('hex');
  return { ...plan, summary, fingerprint };
}

export function hasChanges(plan: Plan): boolean {
  return plan.items.some((i) => i.action !== 'no-op');
}

export function assertNoErrors(plan: Plan): void {
  const errors = plan.checks.filter((c) => c.level === 'error');
  if (errors.length > 0) throw new HoststoreError(`host checks failed: ${errors.map((e) => e.message).join('; ')}`);
}
