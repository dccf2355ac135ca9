/**
 * The one contract every resource handler follows (after Pulumi dynamic providers and
 * terraform-plugin-framework), and the reconcile loop that drives it: read what is really on the host,
 * diff it against the spec, then create, update or refuse.
 */
import { Registry } from '../registry/store.js';
import { recordRefusal, type EventSubject } from '../journal/storage-event.js';
import { withRootLock } from '../registry/lock.js';
import { RefusedError } from '../errors.js';
import { environmentClock } from '../clock.js';

import type { FieldChange } from '../../src/kinds.js';

export type { Safety } from '../../src/kinds.js';
/** One change a diff found: its field, values, structured kind, safety class and reason (src/kinds.ts). */
export type Change = FieldChange;

export interface Diff {
  /** `create`: nothing there yet; `adopt`: there, not ours yet; `update`: ours, differs; `none`: converged. */
  readonly action: 'create' | 'adopt' | 'update' | 'none';
  readonly changes: readonly Change[];
}

export interface HandlerContext {
  readonly root: string;
  readonly registry: Registry;
  readonly log: (line: string) => void;
  readonly now: () => Date;
  /** Names of storage whose data-loss actions the user explicitly allowed. */
  readonly allowDataLoss?: ReadonlySet<string>;
  /**
   * The caller already holds the root's lock for everything it does with this context (`hoststore apply`
   * holds it for the whole run), so converge and remove do not take it again.
   */
  readonly rootLocked?: boolean;
  /**
   * The stack on whose behalf a delete runs (`HOSTSTORE_STACK` from the identity carrier, the synth
   * output's stack for `hoststore destroy`): storage another stack owns is only borrowed, never deleted.
   */
  readonly stack?: string;
}

export interface Handler<Spec, Identity, Actual> {
  readonly kind: string;
  /** Parses a wire spec with the shared schema; throws SpecError naming field, rule and value. */
  validate(input: unknown): Spec;
  validateIdentity(input: unknown): Identity;
  rootOf(identity: Identity): string;
  describe(identity: Identity): string;
  /** What is really on the host; undefined when there is nothing (no record, nothing on disk). */
  read(ctx: HandlerContext, identity: Identity): Actual | undefined;
  diff(ctx: HandlerContext, spec: Spec, actual: Actual | undefined): Diff;
  /** All-or-nothing: on failure undoes its partial work and rethrows. */
  create(ctx: HandlerContext, spec: Spec, diff: Diff): Promise<void>;
  update(ctx: HandlerContext, spec: Spec, actual: Actual, diff: Diff): Promise<void>;
  /** Succeeds when the thing is already gone. */
  delete(ctx: HandlerContext, identity: Identity): Promise<void>;
}

export function makeContext(
  root: string,
  options: Partial<Omit<HandlerContext, 'root' | 'registry'>> & { cacheRegistry?: boolean } = {},
): HandlerContext {
  return {
    root,
    registry: new Registry(root, { cache: options.cacheRegistry }),
    log: options.log ?? ((line) => process.stdout.write(`${line}\n`)),
    // HOSTSTORE_NOW (an ISO time) pins the clock, for tests of schedules and retention; checked here, once.
    now: options.now ?? environmentClock(),
    allowDataLoss: options.allowDataLoss,
    rootLocked: options.rootLocked,
    stack: options.stack,
  };
}

/**
 * Refuses when any change is `refused`, or `data-loss` that the user did not allow for this storage; a
 * refusal about a known storage (`about`) goes in its journal first.
 */
export function assertAllowed(
  ctx: HandlerContext,
  subject: string,
  name: string,
  diff: Diff,
  about?: EventSubject,
): void {
  const blocked = diff.changes.filter(
    (c) => c.safety === 'refused' || (c.safety === 'data-loss' && !c.declared && !ctx.allowDataLoss?.has(name)),
  );
  if (blocked.length === 0) return;
  const reasons = blocked.map((c) => c.reason ?? `${c.field} ${c.from ?? ''} -> ${c.to ?? ''}`).join('; ');
  const error = new RefusedError(`${subject}: refused: ${reasons}`);
  if (about) recordRefusal(ctx, about, error.message);
  throw error;
}

/** read → diff → create | update | nothing, under the root lock. Returns the diff it acted on. */
export async function converge<S, I, A>(
  handler: Handler<S, I, A>,
  ctx: HandlerContext,
  spec: S & I,
  holder = `hoststore ${handler.kind} converge`,
): Promise<Diff> {
  return underRootLock(ctx, `${holder} ${handler.describe(spec)}`, async () => {
    const actual = handler.read(ctx, spec);
    const diff = handler.diff(ctx, spec, actual);
    assertAllowed(ctx, handler.describe(spec), nameOf(spec), diff, storageOfSpec(spec));
    // Each handler records what it did, as it did it (a grow, a mount): see its create, update and delete.
    if (diff.action === 'create' || actual === undefined) await handler.create(ctx, spec, diff);
    else if (diff.action !== 'none') await handler.update(ctx, spec, actual, diff);
    return diff;
  });
}

export async function remove<S, I, A>(handler: Handler<S, I, A>, ctx: HandlerContext, identity: I): Promise<void> {
  await underRootLock(ctx, `hoststore ${handler.kind} delete ${handler.describe(identity)}`, async () => {
    await handler.delete(ctx, identity);
  });
}

function underRootLock<T>(ctx: HandlerContext, holder: string, fn: () => Promise<T>): Promise<T> {
  return ctx.rootLocked ? fn() : withRootLock(ctx.root, { holder }, fn);
}

/** The storage a spec is about (a storage's, a mount's or a policy's), for its refusals; none for a project. */
export function storageOfSpec(spec: unknown): EventSubject | undefined {
  // An orphan of a plan has no spec (its manifest retires it).
  if (typeof spec !== 'object' || spec === null) return undefined;
  const s = spec as {
    kind?: unknown;
    name?: unknown;
    storage?: unknown;
    storage_kind?: unknown;
    project?: unknown;
    stack?: unknown;
  };
  const stack = typeof s.stack === 'string' && s.stack ? s.stack : undefined;
  if (typeof s.project !== 'string') return undefined;
  if (typeof s.storage_kind === 'string' && typeof s.storage === 'string')
    return { kind: s.storage_kind as EventSubject['kind'], project: s.project, storage: s.storage, stack };
  if (typeof s.kind === 'string' && typeof s.name === 'string')
    return { kind: s.kind as EventSubject['kind'], project: s.project, storage: s.name, stack };
  return undefined;
}

function nameOf(spec: unknown): string {
  const record = spec as { name?: string; storage?: string };
  return record.name ?? record.storage ?? '';
}
