/**
 * Applies a plan through the same handlers Terraform's provisioners call: storage before mounts, then
 * policies, then each project's manifest (which retires what the code no longer declares: mounts released
 * before storage). Refused items never run; a data-loss item runs only when the user named it.
 */
import { HoststoreError, RefusedError } from '../errors.js';
import { converge, makeContext, remove, type HandlerContext } from '../handlers/handler.js';
import { withRootLock } from '../registry/lock.js';
import { projectHandler } from '../handlers/project.js';
import type { DesiredSpec } from './desired.js';
import { HANDLERS, type Plan } from './plan.js';
import { applyStops, recordPlanRefusals } from './refusal-events.js';

export interface ApplyOptions {
  readonly allowDataLoss: ReadonlySet<string>;
  readonly log: (line: string) => void;
  /** Told as each change starts and ends; without it, both are log lines starting `[n/m]`. */
  readonly onStep?: (step: ApplyStep) => void;
}

/** Change `index` of `total` (from 1), `what` it does; `ms` once it is done. */
export interface ApplyStep {
  readonly index: number;
  readonly total: number;
  readonly what: string;
  readonly ms?: number;
}

/**
 * Throws when the plan may not be applied. `record`: the plan's roots are on this host (not a remote host's plan
 * shown here), so each refused storage's journal says so (../plan/refusal-events.ts).
 */
export function assertApplicable(plan: Plan, allowDataLoss: ReadonlySet<string>, record = false): void {
  try {
    refuseUnapplicable(plan, allowDataLoss);
  } catch (error) {
    if (record) recordPlanRefusals(plan, applyStops(allowDataLoss));
    throw error;
  }
}

function refuseUnapplicable(plan: Plan, allowDataLoss: ReadonlySet<string>): void {
  const refused = plan.items.filter((i) => i.safety === 'refused');
  if (refused.length > 0) {
    throw new RefusedError(
      `the plan has refused changes, so nothing was applied:\n${refused
        .map(
          (i) =>
            `  ${i.subject}: ${i.changes
              .filter((c) => c.safety === 'refused')
              .map((c) => c.reason)
              .join('; ')}`,
        )
        .join('\n')}`,
    );
  }
  const unallowed = plan.items.filter((i) => i.safety === 'data-loss' && !allowDataLoss.has(i.name));
  if (unallowed.length > 0) {
    throw new RefusedError(
      `the plan loses data, so nothing was applied; to go ahead, name each one with --allow-data-loss:\n${unallowed
        .map(
          (i) =>
            `  ${i.subject} (--allow-data-loss ${i.name}): ${i.changes
              .filter((c) => c.safety === 'data-loss')
              .map((c) => c.reason)
              .join('; ')}`,
        )
        .join('\n')}`,
    );
  }
}

export async function applyPlan(plan: Plan, options: ApplyOptions): Promise<void> {
  assertApplicable(plan, options.allowDataLoss, true);
  // One lock per root for the whole apply (taken in a fixed order), so no other deploy interleaves with it.
  const roots = [...new Set(plan.roots)].sort();
  const locked = roots.reduceRight<() => Promise<void>>(
    (inner, root) => () => withRootLock(root, { holder: 'hoststore apply' }, inner),
    () => applyLocked(plan, options),
  );
  await locked();
}

/** `applyPlan` for a caller that already holds the lock of every root of the plan (it planned under it). */
export async function applyPlanLocked(plan: Plan, options: ApplyOptions): Promise<void> {
  assertApplicable(plan, options.allowDataLoss, true);
  await applyLocked(plan, options);
}

async function applyLocked(plan: Plan, options: ApplyOptions): Promise<void> {
  const contexts = new Map<string, HandlerContext>();
  const ctxFor = (root: string) =>
    contexts.get(root) ??
    contexts
      .set(
        root,
        makeContext(root, {
          log: (l) => options.log(`    ${l}`),
          allowDataLoss: options.allowDataLoss,
          rootLocked: plan.roots.includes(root),
        }),
      )
      .get(root)!;
  const manifests = new Map<string, Record<string, string>>();
  for (const item of plan.items) if (item.manifest) manifests.set(JSON.stringify(item.manifest), item.manifest);
  // Orphans and manifests have no spec of their own to converge: the manifests retire them below.
  const acting = plan.items.filter(
    (item) => item.action !== 'no-op' && item.spec && item.kind !== 'orphan' && item.kind !== 'project',
  );
  // Counted before the first change, so each says where it stands: [n/m].
  const total = acting.length + manifests.size;
  let index = 0;
  const step = async (what: string, run: () => Promise<unknown>) => {
    index += 1;
    const started = Date.now();
    if (options.onStep) options.onStep({ index, total, what });
    else options.log(`[${index}/${total}] ${what} ...`);
    await run();
    if (options.onStep) options.onStep({ index, total, what, ms: Date.now() - started });
    else options.log(`[${index}/${total}] ${what}: done in ${Date.now() - started} ms`);
  };
  for (const item of acting) {
    if (item.kind === 'orphan' || item.kind === 'project') continue;
    const handler = HANDLERS[item.kind];
    const spec = handler.validate(item.spec);
    await step(`${item.action} ${item.subject}`, () => converge(handler, ctxFor(spec.root), spec, 'hoststore apply'));
  }
  for (const manifest of manifests.values()) {
    const spec = projectHandler.validate(manifest);
    await step(`retire what project ${spec.project} (stack ${spec.stack}) no longer declares`, () =>
      converge(projectHandler, ctxFor(spec.root), spec, 'hoststore apply'),
    );
  }
}

/** Removes what a synth output declares, each by its removal policy; returns what was retained. */
export async function destroyDesired(desired: DesiredSpec[], options: ApplyOptions): Promise<string[]> {
  if (desired.length === 0)
    throw new HoststoreError('nothing to destroy: the synth output declares no hoststore resources');
  // Like apply: one lock per root for the whole destroy, so the check below still holds when it acts.
  const roots = [...new Set(desired.map((d) => d.spec.root).filter(Boolean))].sort();
  const locked = roots.reduceRight<() => Promise<string[]>>(
    (inner, root) => () => withRootLock(root, { holder: 'hoststore destroy' }, inner),
    () => destroyLocked(desired, options, new Set(roots)),
  );
  return locked();
}

async function destroyLocked(
  desired: DesiredSpec[],
  options: ApplyOptions,
  lockedRoots: ReadonlySet<string>,
): Promise<string[]> {
  // The whole destroy is checked before anything is touched: a refusal changes nothing.
  const { refusedDestroy } = await import('./destroy-check.js');
  const refusals = refusedDestroy(desired, options.allowDataLoss);
  if (refusals.length > 0)
    throw new RefusedError(
      `the destroy is refused, so nothing was changed:\n${refusals.map((r) => `  ${r}`).join('\n')}`,
    );
  const retained: string[] = [];
  for (const d of [...desired].reverse()) {
    if (d.kind === 'project') continue;
    const handler = HANDLERS[d.kind];
    const identity = handler.validate(d.spec);
    const ctx = makeContext(identity.root, {
      log: (l) => options.log(`    ${l}`),
      allowDataLoss: options.allowDataLoss,
      stack: d.spec.stack,
      rootLocked: lockedRoots.has(identity.root),
    });
    const started = Date.now();
    await remove(handler, ctx, identity);
    options.log(`delete ${d.kind} ${d.address}: done in ${Date.now() - started} ms`);
    if (d.kind === 'storage') {
      const record = ctx.registry.storage(identity.kind, identity.project, identity.name);
      if (record?.state === 'retained') retained.push(`${record.kind} ${record.name}: ${record.path}`);
    }
  }
  return retained;
}
