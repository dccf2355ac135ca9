/**
 * `hoststore plan | apply | diff | destroy`: the storage-aware engine. Plan reads a synth output and the
 * host; apply runs a plan (or a saved one, refusing if the host changed since); diff compares two synth
 * outputs without a host; destroy applies each resource's removal policy.
 */
import * as fs from 'node:fs';
import { RefusedError, UsageError } from '../errors.js';
import { refusedDestroy } from '../plan/destroy-check.js';
import { readDesired, type DesiredSpec } from '../plan/desired.js';
import { assertNoErrors, hasChanges, makePlan, type Plan } from '../plan/plan.js';
import { compareDesired } from '../plan/compare.js';
import { renderJson, renderMarkdown, renderText } from '../plan/render.js';
import { applyPlan, destroyDesired, type ApplyOptions } from '../plan/apply.js';
import { withReadLocks } from '../plan/read-lock.js';
import { confirm } from './confirm.js';
import { checkSavedPlan, writeSavedPlan } from './saved-plan-file.js';
import { groupByHost, hostOf, selectHosts } from '../remote/fleet.js';

export interface EngineOptions {
  readonly app: string;
  readonly stack?: string;
  readonly format: string;
  readonly detailedExitcode: boolean;
  readonly out?: string;
  readonly autoApprove: boolean;
  readonly allowDataLoss: string[];
  readonly base?: string;
  /** Where apply's lines go (the CLI's progress display); default stdout. */
  readonly log?: (line: string) => void;
  /** Told as each change of an apply starts and ends. */
  readonly onStep?: ApplyOptions['onStep'];
  /** `--host`: only these hosts (`local` = this machine); all the synth output declares when empty. */
  readonly hosts?: readonly string[];
  /** `--parallelism`: how many hosts at once. */
  readonly parallelism?: number;
}

interface SavedPlan {
  readonly hoststorePlan: 1;
  readonly desired: DesiredSpec[];
  readonly plan: Plan;
}

export function render(plan: Plan, format: string): string {
  if (format === 'json') return renderJson(plan);
  if (format === 'markdown') return renderMarkdown(plan);
  if (format === 'text') return renderText(plan);
  throw new UsageError(`unknown --format '${format}': use text, markdown or json`);
}

/**
 * 3 (a refusal's code) when any change is refused, with or without --detailed-exitcode: a script or CI
 * step must not pass over a plan that cannot be applied. Otherwise 0, or 2 for changes when detailed.
 */
function exitCode(plan: Plan, detailed: boolean): number {
  const refused = plan.items.filter((i) => i.safety === 'refused').length;
  if (refused > 0) {
    process.stderr.write(
      `hoststore: ${refused} change${refused === 1 ? ' is' : 's are'} refused (see the plan above); apply would change nothing until the code no longer asks for ${refused === 1 ? 'it' : 'them'}\n`,
    );
    return new RefusedError('').exitCode;
  }
  return detailed && hasChanges(plan) ? 2 : 0;
}

/** The plan of `desired`, read while no other process changes its roots (see plan/read-lock.ts). */
export function planConsistently(
  desired: DesiredSpec[],
  report: (line: string) => void = (line) => process.stderr.write(`hoststore: ${line}\n`),
): Promise<Plan> {
  return withReadLocks(
    desired.map((d) => d.spec.root).filter((root) => typeof root === 'string' && root.startsWith('/')),
    () => makePlan(desired),
    report,
  );
}

/**
 * The synth output's specs when they all stay on this machine (the engine runs as it always has), else
 * undefined: some live on remote hosts, and ./plan-hosts.ts runs each host's part.
 */
function localOnly(desired: DesiredSpec[], options: EngineOptions): DesiredSpec[] | undefined {
  const groups = selectHosts(groupByHost(desired, hostOf), options.hosts);
  if (groups.some((g) => g.connection)) return undefined;
  return options.hosts?.length ? (groups[0]?.items ?? []) : desired;
}

async function hostsOf(desired: DesiredSpec[], options: EngineOptions) {
  return {
    groups: selectHosts(groupByHost(desired, hostOf), options.hosts),
    hosts: await import('./plan-hosts.js'),
  };
}

export async function plan(options: EngineOptions): Promise<number> {
  const all = readDesired(options.app, options.stack);
  const desired = localOnly(all, options);
  if (!desired) {
    const { groups, hosts } = await hostsOf(all, options);
    if (options.out)
      throw new UsageError(
        `--out saves a plan of this machine only, and this one reaches remote hosts (${groups
          .filter((g) => g.connection)
          .map((g) => g.name)
          .join(', ')}); plan without --out (apply shows the plan and asks once), or narrow with --host local`,
      );
    return hosts.planHosts(groups, options);
  }
  const result = await planConsistently(desired);
  process.stdout.write(`${render(result, options.format)}\n`);
  if (options.out) {
    const saved: SavedPlan = { hoststorePlan: 1, desired, plan: result };
    writeSavedPlan(options.out, `${JSON.stringify(saved, null, 2)}\n`);
    process.stderr.write(`saved the plan to ${options.out}; apply exactly it with: hoststore apply ${options.out}\n`);
  }
  return exitCode(result, options.detailedExitcode);
}

export function diff(options: EngineOptions): number {
  if (!options.base) throw new UsageError('usage: hoststore diff --base OLD_CDKTF_OUT [--app NEW_CDKTF_OUT]');
  const result = compareDesired(readDesired(options.base, options.stack), readDesired(options.app, options.stack));
  process.stdout.write(`${render(result, options.format)}\n`);
  return exitCode(result, options.detailedExitcode);
}

function loadSaved(file: string): SavedPlan {
  checkSavedPlan(file);
  let saved: SavedPlan;
  try {
    saved = JSON.parse(fs.readFileSync(file, 'utf8')) as SavedPlan;
  } catch (error) {
    throw new UsageError(`cannot read the saved plan ${file}: ${(error as Error).message}`);
  }
  if (saved.hoststorePlan !== 1 || !Array.isArray(saved.desired))
    throw new UsageError(`${file} is not a plan saved by hoststore plan --out`);
  // Only this machine's plans are saved: an entry of a remote host must never be applied here.
  if (saved.desired.some((d) => hostOf(d) || (d.spec && 'host' in d.spec)))
    throw new RefusedError(`${file} holds things of a remote host; a saved plan applies to this machine only`);
  return saved;
}

export async function apply(file: string | undefined, options: EngineOptions): Promise<number> {
  let current: Plan;
  if (file) {
    const saved = loadSaved(file);
    current = await planConsistently(saved.desired);
    if (current.fingerprint !== saved.plan.fingerprint) {
      throw new RefusedError(
        `the host or the registry changed since ${file} was planned (${saved.plan.createdAt}); nothing was applied. Run hoststore plan again and review it`,
      );
    }
  } else {
    const all = readDesired(options.app, options.stack);
    const desired = localOnly(all, options);
    if (!desired) {
      const { groups, hosts } = await hostsOf(all, options);
      return hosts.applyHosts(groups, options);
    }
    current = await planConsistently(desired);
  }
  process.stdout.write(`${renderText(current)}\n`);
  assertNoErrors(current);
  if (!hasChanges(current)) return 0;
  if (!options.autoApprove && !file) await confirm('apply these changes to the host?', '--auto-approve');
  const started = Date.now();
  await applyPlan(current, {
    allowDataLoss: new Set(options.allowDataLoss),
    log: options.log ?? ((line) => process.stdout.write(`${line}\n`)),
    onStep: options.onStep,
  });
  process.stdout.write(`Apply complete in ${Date.now() - started} ms.\n`);
  return 0;
}

export async function destroy(options: EngineOptions): Promise<number> {
  const all = readDesired(options.app, options.stack);
  const desired = localOnly(all, options);
  if (!desired) {
    const { groups, hosts } = await hostsOf(all, options);
    return hosts.destroyHosts(groups, options);
  }
  // Refuse before asking: the same check runs again under the lock before anything is removed.
  const refusals = refusedDestroy(desired, new Set(options.allowDataLoss));
  if (refusals.length > 0)
    throw new RefusedError(
      `the destroy is refused, so nothing was changed:\n${refusals.map((r) => `  ${r}`).join('\n')}`,
    );
  if (!options.autoApprove)
    await confirm(
      `destroy what ${options.app}${options.stack ? ` (stack ${options.stack})` : ''} declares, by each removal policy?`,
      '--auto-approve',
    );
  const retained = await destroyDesired(desired, {
    allowDataLoss: new Set(options.allowDataLoss),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(
    retained.length
      ? `Destroy complete. Retained (data kept):\n${retained.map((r) => `  ${r}`).join('\n')}\n`
      : 'Destroy complete. Nothing was retained.\n',
  );
  return 0;
}
