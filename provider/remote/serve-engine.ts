/**
 * `hoststore remote`'s `engine` command, on the storage host: plans, applies or destroys the part of a
 * deploy's desired state that lives on this host, with the same code and the same root locks as a local
 * run, and answers with one JSON document on stdout (see EngineAnswer in host-request.ts).
 *
 * Request: `{ hoststore, command: "engine", op: "plan" | "apply" | "plan-apply" | "destroy-check" | "destroy", address,
 * desired: [{stack, address, kind, spec}], options: { allowDataLoss?: [names], fingerprint?: "<plan's>" } }`.
 * `address` is the host the sender meant; every entry's identity must name it. `plan-apply` (what
 * `hoststore apply --auto-approve` sends: nothing needs showing before it applies) plans and applies in one
 * request, so a host costs one SSH session and one `hoststore remote`, not two.
 */
import { hostAddressRule } from '../../src/host-connection.js';
import { KIND_NAMES, type KindName } from '../../src/kinds.js';
import { HoststoreError, RefusedError, SpecError } from '../errors.js';
import type { DesiredSpec } from '../plan/desired.js';
import type { EngineAnswer } from './host-request.js';
import { setActor } from '../journal/actor.js';

const OPS = ['plan', 'apply', 'plan-apply', 'destroy-check', 'destroy'] as const;
type Op = (typeof OPS)[number];

interface EngineRequest {
  readonly op: Op;
  readonly address: string;
  readonly desired: DesiredSpec[];
  readonly allowDataLoss: string[];
  readonly fingerprint?: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The request's fields, each checked; a problem is one SpecError naming the field, the rule and the value. */
export function engineRequest(request: Record<string, unknown>): EngineRequest {
  const op = request.op;
  if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op))
    throw new SpecError(`engine request: op must be one of ${OPS.join(', ')} (got ${JSON.stringify(op)})`);
  const address = request.address;
  const addressProblem = hostAddressRule(address);
  if (addressProblem) throw new SpecError(`engine request: address ${addressProblem} (got ${JSON.stringify(address)})`);
  const options = request.options ?? {};
  if (!isRecord(options)) throw new SpecError(`engine request: options must be a JSON object`);
  const allowDataLoss = options.allowDataLoss ?? [];
  if (!Array.isArray(allowDataLoss) || !allowDataLoss.every((n) => typeof n === 'string'))
    throw new SpecError(`engine request: options.allowDataLoss must be a list of names`);
  const fingerprint = options.fingerprint;
  if (op === 'apply' && (typeof fingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(fingerprint)))
    throw new SpecError(`engine request: apply needs options.fingerprint, the sha256 of the plan it shows`);
  if (!Array.isArray(request.desired) || request.desired.length === 0)
    throw new SpecError(`engine request: desired must be a non-empty list of {stack, address, kind, spec}`);
  const desired = request.desired.map((entry, i) => desiredEntry(entry, i, address as string));
  return { op: op as Op, address: address as string, desired, allowDataLoss, fingerprint: fingerprint as string };
}

/** One entry, for this host only: a thing of another host (or of the sender's own machine) is refused. */
function desiredEntry(entry: unknown, index: number, address: string): DesiredSpec {
  const where = `engine request: desired[${index}]`;
  if (!isRecord(entry)) throw new SpecError(`${where} must be a JSON object {stack, address, kind, spec}`);
  for (const key of Object.keys(entry))
    if (!['stack', 'address', 'kind', 'spec'].includes(key))
      throw new SpecError(`${where}: ${key} is not a field of a desired entry (stack, address, kind, spec)`);
  const { stack, kind, spec } = entry;
  if (typeof stack !== 'string' || stack === '') throw new SpecError(`${where}: stack must be a stack name`);
  if (typeof entry.address !== 'string' || entry.address === '')
    throw new SpecError(`${where}: address must be a construct path`);
  if (typeof kind !== 'string' || !(KIND_NAMES as readonly string[]).includes(kind))
    throw new SpecError(`${where}: kind must be one of ${KIND_NAMES.join(', ')} (got ${JSON.stringify(kind)})`);
  if (!isRecord(spec) || !Object.values(spec).every((v) => typeof v === 'string'))
    throw new SpecError(`${where}: spec must be a JSON object of strings`);
  if (spec.host !== address)
    throw new SpecError(
      `${where} (${entry.address}) is for ${spec.host === undefined ? 'a local project' : `host ${JSON.stringify(spec.host)}`}, not for ${address}, which this request is for; nothing was done`,
    );
  return { stack, address: entry.address, kind: kind as KindName, spec: spec as Record<string, string> };
}

/** Runs the request; writes its answer on stdout; resolves to the exit status (the error's class's, or 0). */
export async function serve(request: Record<string, unknown>): Promise<number> {
  // Sent by `hoststore apply|destroy` on the deploying machine: the journal says the engine did it.
  setActor('engine');
  const log: string[] = [];
  let answer: EngineAnswer;
  let code: number;
  try {
    answer = { hoststoreEngine: 1, log, ...(await run(engineRequest(request), (line) => log.push(line))) };
    // plan-apply answers its plan with the error that stopped it (the sender shows both).
    code = answer.error?.exitCode ?? 0;
  } catch (error) {
    if (!(error instanceof HoststoreError)) throw error;
    code = error.exitCode;
    answer = { hoststoreEngine: 1, log, error: { message: error.message, exitCode: error.exitCode } };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
  return code;
}

async function run(request: EngineRequest, log: (line: string) => void): Promise<Partial<EngineAnswer>> {
  const { desired } = request;
  const allowDataLoss = new Set(request.allowDataLoss);
  // Each handler's schema checks its spec before anything reads the host.
  const { HANDLERS } = await import('../plan/plan.js');
  for (const d of desired) HANDLERS[d.kind].validate(d.spec);
  switch (request.op) {
    case 'plan': {
      // As a local plan reads: holding each root's lock, so it never shows a half-applied state (plan/read-lock.ts).
      const [{ makePlan }, { withReadLocks }] = await Promise.all([
        import('../plan/plan.js'),
        import('../plan/read-lock.js'),
      ]);
      return {
        plan: await withReadLocks(
          desired.map((d) => d.spec.root),
          () => makePlan(desired),
          log,
        ),
      };
    }
    case 'apply':
      return applyChecked(request, allowDataLoss, log);
    case 'plan-apply':
      return planApply(request, allowDataLoss, log);
    case 'destroy-check': {
      const { refusedDestroy } = await import('../plan/destroy-check.js');
      return { refusals: refusedDestroy(desired, allowDataLoss) };
    }
    case 'destroy': {
      const { destroyDesired } = await import('../plan/apply.js');
      return { retained: await destroyDesired(desired, { allowDataLoss, log }) };
    }
  }
}

/**
 * Runs `body` with this host's pools checked and every root of the request locked (in one order, as a local
 * apply takes them), so what it plans is what it applies.
 */
async function underRootLocks(
  request: EngineRequest,
  body: () => Promise<Partial<EngineAnswer>>,
): Promise<Partial<EngineAnswer>> {
  const [{ withRootLock }, { assertPoolMounted }] = await Promise.all([
    import('../registry/lock.js'),
    import('../host/pool-guard.js'),
  ]);
  const roots = [...new Set(request.desired.map((d) => d.spec.root))].sort();
  for (const root of roots) assertPoolMounted(root);
  const locked = roots.reduceRight<() => Promise<Partial<EngineAnswer>>>(
    (inner, root) => () => withRootLock(root, { holder: 'hoststore apply (remote)' }, inner),
    body,
  );
  return locked();
}

/**
 * Applies the plan the sender showed, and only it: planned again under this host's root locks, it must
 * have the fingerprint the sender saw (as a saved plan must), else nothing is applied.
 */
async function applyChecked(
  request: EngineRequest,
  allowDataLoss: ReadonlySet<string>,
  log: (line: string) => void,
): Promise<Partial<EngineAnswer>> {
  const [{ makePlan, assertNoErrors }, { applyPlanLocked }] = await Promise.all([
    import('../plan/plan.js'),
    import('../plan/apply.js'),
  ]);
  return underRootLocks(request, async () => {
    const plan = makePlan(request.desired);
    if (plan.fingerprint !== request.fingerprint)
      throw new RefusedError(
        `the host changed since it was planned, so nothing was applied on ${request.address}; run hoststore plan again and review it`,
      );
    assertNoErrors(plan);
    await applyPlanLocked(plan, { allowDataLoss, log });
    return { plan };
  });
}

/**
 * Plans and applies in one request, holding every root's lock throughout (so what is applied is what was
 * planned). It refuses exactly as an apply does (plan errors, refused changes, data loss not named in
 * allowDataLoss: nothing applied), and answers with the plan in every case once there is one, with the
 * error that stopped it if any.
 */
async function planApply(
  request: EngineRequest,
  allowDataLoss: ReadonlySet<string>,
  log: (line: string) => void,
): Promise<Partial<EngineAnswer>> {
  const [{ makePlan, assertNoErrors, hasChanges }, { applyPlanLocked, assertApplicable }] = await Promise.all([
    import('../plan/plan.js'),
    import('../plan/apply.js'),
  ]);
  return underRootLocks(request, async () => {
    const plan = makePlan(request.desired);
    try {
      assertNoErrors(plan);
      assertApplicable(plan, allowDataLoss, true);
      if (hasChanges(plan)) await applyPlanLocked(plan, { allowDataLoss, log });
    } catch (error) {
      if (!(error instanceof HoststoreError)) throw error;
      return { plan, error: { message: error.message, exitCode: error.exitCode } };
    }
    return { plan };
  });
}
