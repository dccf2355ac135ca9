/**
 * `hoststore handle project converge`: what a project's manifest carrier runs. It reads the manifest
 * (HOSTSTORE_SPEC) and every thing's spec (HOSTSTORE_SPEC_<n>), checks the whole project, then converges
 * it with the engine in one process, under the root's lock: Terraform pays one handler start per deploy.
 */
import { describeZodError, type ProjectManifest } from '../../src/schema.js';
import { KINDS } from '../../src/kinds.js';
import { SPEC_VAR_PREFIX, THING_KINDS, type ThingKind } from '../../src/manifest-specs.js';
import { RefusedError, SpecError } from '../errors.js';
import { projectHandler } from '../handlers/project.js';
import type { Change } from '../handlers/handler.js';
import { withRootLock } from '../registry/lock.js';
import { manifestListMismatch, sortDesired, type DesiredSpec } from '../plan/desired.js';
import { assertNoErrors, hasChanges, makePlan, type Plan } from '../plan/plan.js';
import { applyPlanLocked } from '../plan/apply.js';
import { recordPlanRefusals } from '../plan/refusal-events.js';
import { parseSpecJson } from './handle.js';

/**
 * The fields that say whose a thing is: each thing's must be the manifest's, or the spec is not this project's.
 * `host` too (absent on both for a local project): an entry for another host is never converged on this one.
 */
const OWNER_FIELDS = ['host', 'root', 'project', 'stack'] as const;

function entryError(name: string, why: string): SpecError {
  return new SpecError(
    `${name} ${why}; an entry is {"address":"<construct path>","kind":"${THING_KINDS.join('|')}","spec":{...}}, as the synthesized manifest writes it`,
  );
}

/** One HOSTSTORE_SPEC_<n>: parsed, validated with its kind's schema, and refused unless it is this project's. */
function thingOf(name: string, raw: string, manifest: ProjectManifest): DesiredSpec {
  let entry: unknown;
  try {
    entry = JSON.parse(raw);
  } catch {
    throw entryError(name, `is not JSON (got ${JSON.stringify(raw.slice(0, 60))}${raw.length > 60 ? '...' : ''})`);
  }
  const { address, kind, spec } = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
  if (typeof address !== 'string') throw entryError(name, 'has no "address" string');
  if (!(THING_KINDS as readonly unknown[]).includes(kind))
    throw entryError(name, `has "kind" ${JSON.stringify(kind)}, not one of ${THING_KINDS.join(', ')}`);
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw entryError(name, 'has no "spec" object');
  const flat = Object.values(spec).every((v) => typeof v === 'string');
  if (!flat) throw entryError(name, 'has a "spec" that is not one flat object of strings');
  const result = KINDS[kind as ThingKind].spec.safeParse(spec);
  if (!result.success)
    throw new SpecError(`${name} (${address}): ${kind} spec rejected: ${describeZodError(result.error, spec)}`);
  const wire = spec as Record<string, string>;
  for (const field of OWNER_FIELDS) {
    if (wire[field] !== manifest[field])
      throw new SpecError(
        `${name} (${address}): refused: its ${field} is ${JSON.stringify(wire[field]) ?? 'absent'}, but this manifest converges ${field} ${JSON.stringify(manifest[field]) ?? 'absent'} (project ${manifest.project}, stack ${manifest.stack}); a manifest converges only its own project's things. Run cdktf synth again and deploy the stack as synthesized`,
      );
  }
  return { stack: manifest.stack, address, kind: kind as ThingKind, spec: wire };
}

/** The manifest lists what its things are (so a removed entry cannot pass for a thing removed from code). */
function assertListsMatch(manifest: ProjectManifest, things: readonly DesiredSpec[]): void {
  const mismatch = manifestListMismatch(manifest, things);
  if (mismatch)
    throw new SpecError(
      `the manifest of project ${manifest.project} (stack ${manifest.stack}) lists ${mismatch.field} ${JSON.stringify(mismatch.declared)} but its HOSTSTORE_SPEC_<n> entries hold ${JSON.stringify(mismatch.fromSpecs)}; run cdktf synth again and deploy the stack as synthesized`,
    );
}

/**
 * The changes the per-resource handlers would refuse (their `assertAllowed`): refused ones, and data-loss the
 * code did not declare. A new storage where a service saw other storage (the plan's `data` replace) is not
 * among them: the old storage is retained, as Terraform's own replace of its carrier says.
 */
const stopsConverge = (c: Change) =>
  c.safety === 'refused' || (c.safety === 'data-loss' && !c.declared && !(c.field === 'data' && c.kind === 'replace'));

function blocked(plan: Plan): string[] {
  return plan.items.flatMap((item) =>
    item.changes
      .filter(stopsConverge)
      .map((c) => `${item.subject}: ${c.reason ?? `${c.field} ${c.from ?? ''} -> ${c.to ?? ''}`}`),
  );
}

export async function convergeProject(rawManifest: string | undefined, env: NodeJS.ProcessEnv): Promise<number> {
  const wireManifest = parseSpecJson(rawManifest) as Record<string, string>;
  const manifest = projectHandler.validate(wireManifest);
  // Exactly the entries the manifest lists, 1..N: Terraform hands local-exec its own environment too, so a
  // HOSTSTORE_SPEC_<n> left in the deploying shell must neither join nor break the converge. A manifest of an
  // earlier build carries no specs (and no entries): it only retires what is no longer declared.
  const count =
    manifest.specs === undefined ? 0 : manifest.storage.length + manifest.mounts.length + manifest.policies.length;
  const things = Array.from({ length: count }, (_, i) => `${SPEC_VAR_PREFIX}${i + 1}`).map((name) => {
    const raw = env[name];
    if (raw === undefined) throw entryError(name, 'is missing: the manifest lists more things than it has entries');
    return thingOf(name, raw, manifest);
  });
  // A manifest of an earlier build carries no specs: it only retires what is no longer declared.
  if (manifest.specs !== undefined) assertListsMatch(manifest, things);
  const desired = sortDesired([
    ...things,
    { stack: manifest.stack, address: `${manifest.stack}/${manifest.project}`, kind: 'project', spec: wireManifest },
  ]);
  const what = `project ${manifest.project} (stack ${manifest.stack})`;
  const log = (line: string) => process.stdout.write(`${line}\n`);
  await withRootLock(manifest.root, { holder: `hoststore converge ${what}` }, async () => {
    const plan = makePlan(desired);
    assertNoErrors(plan);
    // The whole project is checked before anything is touched: one refusal, and nothing is applied.
    const stops = blocked(plan);
    if (stops.length > 0) recordPlanRefusals(plan, stopsConverge);
    if (stops.length > 0) throw new RefusedError(`${what}: refused, nothing was applied: ${stops.join('; ')}`);
    if (!hasChanges(plan)) {
      log(`hoststore: ${what}: nothing to change (${things.length} converged)`);
      return;
    }
    for (const item of plan.items)
      for (const c of item.changes)
        if (c.safety === 'data-loss' && c.field === 'data') log(`hoststore: note: ${item.subject}: ${c.reason}`);
    const allowed = new Set(plan.items.filter((i) => i.safety === 'data-loss').map((i) => i.name));
    const started = Date.now();
    await applyPlanLocked(plan, { allowDataLoss: allowed, log: (line) => log(`hoststore: ${line}`) });
    log(`hoststore: ${what} converged in ${Date.now() - started} ms`);
  });
  return 0;
}
