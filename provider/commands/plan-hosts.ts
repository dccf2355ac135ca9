/**
 * `hoststore plan | apply | destroy` of a synth output whose projects live on several hosts: this
 * machine's part runs as a local plan does, each remote host's part runs on it (`engine` requests, see
 * ../remote/serve-engine.ts), a bounded number of hosts at once. One host failing stops none of the others;
 * each gets a `host X:` part in the output and one summary line at the end, and the exit status names
 * those that did not succeed.
 */
import { HoststoreError } from '../errors.js';
import type { DesiredSpec } from '../plan/desired.js';
import { assertNoErrors, hasChanges, type Plan } from '../plan/plan.js';
import { applyPlan, assertApplicable, destroyDesired } from '../plan/apply.js';
import { refusedDestroy } from '../plan/destroy-check.js';
import {
  DEFAULT_PARALLELISM,
  fleetError,
  hostSummary,
  isRefusal,
  oneLine,
  runBounded,
  type HostGroup,
  type HostOutcome,
} from '../remote/fleet.js';
import { engineOp, HostOpError } from '../remote/host-request.js';
import { RemoteIncompatibleError } from '../remote/remote-errors.js';
import { confirm } from './confirm.js';
import { planConsistently, render, type EngineOptions } from './plan.js';

type Group = HostGroup<DesiredSpec>;

/** What a host is sent: the specs alone (how it is reached stays here: a key path means nothing there). */
function wire(group: Group) {
  return group.items.map((d) => ({ stack: d.stack, address: d.address, kind: d.kind, spec: d.spec }));
}

/** Sends `op` for the group's things to its host. */
function onHost(group: Group, op: string, options: object = {}) {
  return engineOp(group.connection!, { op, address: group.name, desired: wire(group), options });
}

function checkedPlan(value: unknown, host: string): Plan {
  const plan = value as Plan | undefined;
  if (!plan || !Array.isArray(plan.items) || typeof plan.fingerprint !== 'string' || !Array.isArray(plan.checks))
    throw new HoststoreError(`host ${host} answered without a plan; is its hoststore the same version as this one?`);
  return plan;
}

async function planGroup(group: Group): Promise<Plan> {
  if (!group.connection)
    return planConsistently(group.items, (line) => process.stderr.write(`hoststore: ${LOCAL_PREFIX}${line}\n`));
  return checkedPlan((await onHost(group, 'plan')).plan, group.name);
}

const LOCAL_PREFIX = 'local: ';

interface HostPlan {
  readonly group: Group;
  readonly plan?: Plan;
  readonly error?: unknown;
}

async function planAll(groups: readonly Group[], parallelism: number): Promise<HostPlan[]> {
  const settled = await runBounded(groups, parallelism, planGroup);
  return settled.map((s, i) =>
    s.status === 'fulfilled' ? { group: groups[i], plan: s.value } : { group: groups[i], error: s.reason },
  );
}

const changed = (plan: Plan) => plan.items.filter((i) => i.action !== 'no-op').length;
const unchanged = (plan: Plan) => plan.items.length - changed(plan);

function failed(host: string, error: unknown): HostOutcome {
  return { host, state: isRefusal(error) ? 'refused' : 'failed', text: oneLine(error) };
}

/** Each host's plan, or why there is none, under a heading of its own. */
function renderAll(planned: readonly HostPlan[], format: string): string {
  if (format === 'json')
    return JSON.stringify(
      planned.map((p) =>
        p.plan ? { host: p.group.name, plan: p.plan } : { host: p.group.name, error: oneLine(p.error) },
      ),
      null,
      2,
    );
  const heading = (name: string) => (format === 'markdown' ? `## host ${name}\n` : `host ${name}:`);
  return planned
    .map((p) => `${heading(p.group.name)}\n${p.plan ? render(p.plan, format) : `failed: ${oneLine(p.error)}`}`)
    .join('\n\n');
}

/** Ends a command that reached several hosts: the summary, then the status (an error naming the hosts that did not succeed). */
function finish(outcomes: readonly HostOutcome[], what: string, toStderr = false): number {
  (toStderr ? process.stderr : process.stdout).write(`\n${hostSummary(outcomes)}\n`);
  const error = fleetError(outcomes, what);
  if (!error) return 0;
  process.stderr.write(`hoststore: ${error.message}\n`);
  return error.exitCode;
}

export async function planHosts(groups: readonly Group[], options: EngineOptions): Promise<number> {
  const planned = await planAll(groups, options.parallelism ?? DEFAULT_PARALLELISM);
  process.stdout.write(`${renderAll(planned, options.format)}\n`);
  const outcomes = planned.map((p): HostOutcome => {
    if (!p.plan) return failed(p.group.name, p.error);
    const refused = p.plan.summary.refused;
    const errors = p.plan.checks.filter((c) => c.level === 'error');
    if (refused > 0)
      return {
        host: p.group.name,
        state: 'refused',
        text: `${refused} change${refused === 1 ? '' : 's'} refused (see its plan)`,
      };
    if (errors.length > 0) return { host: p.group.name, state: 'failed', text: errors[0].message };
    return { host: p.group.name, state: 'ok', text: `${changed(p.plan)} to change, ${unchanged(p.plan)} unchanged` };
  });
  const code = finish(outcomes, 'the plan', options.format === 'json');
  if (code !== 0) return code;
  return options.detailedExitcode && planned.some((p) => p.plan && hasChanges(p.plan)) ? 2 : 0;
}

export async function applyHosts(groups: readonly Group[], options: EngineOptions): Promise<number> {
  if (options.autoApprove) return applyEachHost(groups, options);
  const parallelism = options.parallelism ?? DEFAULT_PARALLELISM;
  const allowDataLoss = new Set(options.allowDataLoss);
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  // Every host is planned before anything is applied anywhere (to be shown and confirmed): a host that cannot run (unreachable, no or
  // another hoststore) or whose plan is refused is named now, and the others go ahead.
  const planned = await planAll(groups, parallelism);
  process.stdout.write(`${renderAll(planned, 'text')}\n`);
  const outcomes = new Map<string, HostOutcome>();
  const toApply: Array<{ group: Group; plan: Plan }> = [];
  for (const p of planned) {
    const host = p.group.name;
    if (!p.plan) {
      outcomes.set(host, failed(host, p.error));
      continue;
    }
    try {
      assertNoErrors(p.plan);
      assertApplicable(p.plan, allowDataLoss, !p.group.connection);
    } catch (error) {
      // In full (which names to pass to --allow-data-loss, one per line); the summary keeps its first line.
      process.stderr.write(`hoststore: ${host}: ${(error as Error).message}\n`);
      outcomes.set(host, failed(host, error));
      continue;
    }
    if (hasChanges(p.plan)) toApply.push({ group: p.group, plan: p.plan });
    else outcomes.set(host, { host, state: 'ok', text: `0 changed, ${unchanged(p.plan)} unchanged` });
  }
  if (toApply.length > 0 && !options.autoApprove)
    await confirm(`apply these changes to ${toApply.map((t) => t.group.name).join(', ')}?`, '--auto-approve');
  const started = Date.now();
  const settled = await runBounded(toApply, parallelism, async ({ group, plan }) => {
    if (!group.connection) {
      await applyPlan(plan, { allowDataLoss, log: (line) => log(`${LOCAL_PREFIX}${line}`), onStep: options.onStep });
      return;
    }
    // The host plans again under its root locks and applies only if that is the plan shown here.
    const answer = await onHost(group, 'apply', { allowDataLoss: [...allowDataLoss], fingerprint: plan.fingerprint });
    for (const line of answer.log) log(`${group.name}: ${line}`);
  });
  settled.forEach((s, i) => {
    const { group, plan } = toApply[i];
    outcomes.set(
      group.name,
      s.status === 'fulfilled'
        ? { host: group.name, state: 'ok', text: `${changed(plan)} changed, ${unchanged(plan)} unchanged` }
        : failed(group.name, s.reason),
    );
  });
  if (toApply.length > 0) process.stdout.write(`Apply finished in ${Date.now() - started} ms.\n`);
  return finish(
    groups.map((g) => outcomes.get(g.name)!),
    'the apply',
  );
}

/** How one host's apply ended under --auto-approve: its plan once there is one, else why there is none. */
interface HostApply {
  readonly plan?: Plan;
  readonly error?: unknown;
}

/**
 * A host whose hoststore has this contract but predates `plan-apply` (it refused the op, nothing done there):
 * an incompatible hoststore, said as one, with the command that installs this version there.
 */
function withoutPlanApply(group: Group, error: unknown): Error | undefined {
  if (!(error instanceof HostOpError) || error.answer?.plan !== undefined) return undefined;
  const message = error.message;
  if (!message.startsWith('engine request: op must be one of') || !message.includes('"plan-apply"')) return undefined;
  return new RemoteIncompatibleError(group.connection!, 'its hoststore is older than this one (it has no plan-apply)');
}

/**
 * `apply --auto-approve`: nothing is shown before it is applied, so each host plans and applies at once,
 * independently: a remote host in ONE request (`plan-apply`: planned and applied under its root locks,
 * refused there exactly as an apply is here), this machine as a local apply does. Each host's plan and
 * log is printed under its heading as it ends; the summary and exit status are those of the confirmed path.
 */
async function applyEachHost(groups: readonly Group[], options: EngineOptions): Promise<number> {
  const allowDataLoss = new Set(options.allowDataLoss);
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const started = Date.now();
  let applied = false;
  let shown = 0;
  // A host's part at once, as it ends, a blank line between two; through `log`, so a progress line of this
  // machine's apply on a terminal is cleared first, not written over.
  const show = (group: Group, text: string) => log(`${shown++ > 0 ? '\n' : ''}host ${group.name}:\n${text}`);
  const settled = await runBounded(
    groups,
    options.parallelism ?? DEFAULT_PARALLELISM,
    async (group): Promise<HostApply> => {
      if (!group.connection) {
        let plan: Plan | undefined;
        try {
          plan = await planGroup(group);
          show(group, render(plan, 'text'));
          assertNoErrors(plan);
          assertApplicable(plan, allowDataLoss, true);
        } catch (error) {
          if (!plan) show(group, `failed: ${oneLine(error)}`);
          else process.stderr.write(`hoststore: ${group.name}: ${(error as Error).message}\n`);
          return { plan, error };
        }
        if (hasChanges(plan)) {
          applied = true;
          await applyPlan(plan, {
            allowDataLoss,
            log: (line) => log(`${LOCAL_PREFIX}${line}`),
            onStep: options.onStep,
          });
        }
        return { plan };
      }
      let answer: Awaited<ReturnType<typeof onHost>>;
      try {
        answer = await onHost(group, 'plan-apply', { allowDataLoss: [...allowDataLoss] }).catch((error: unknown) => {
          throw withoutPlanApply(group, error) ?? error;
        });
      } catch (error) {
        // The host's answer when it planned (its plan, the lines logged before it stopped), else only why not.
        const sent = error instanceof HostOpError ? error.answer : undefined;
        const plan = sent?.plan === undefined ? undefined : checkedPlan(sent.plan, group.name);
        if (!plan) {
          show(group, `failed: ${oneLine(error)}`);
          return { error };
        }
        show(group, render(plan, 'text'));
        for (const line of sent!.log) log(`${group.name}: ${line}`);
        // In full (a refusal names what to pass to --allow-data-loss, one per line); the summary keeps its first line.
        process.stderr.write(`hoststore: ${group.name}: ${(error as Error).message}\n`);
        if (sent!.log.length > 0) applied = true;
        return { plan, error };
      }
      const plan = checkedPlan(answer.plan, group.name);
      show(group, render(plan, 'text'));
      for (const line of answer.log) log(`${group.name}: ${line}`);
      if (hasChanges(plan)) applied = true;
      return { plan };
    },
  );
  const outcomes = settled.map((s, i): HostOutcome => {
    const host = groups[i].name;
    const result: HostApply = s.status === 'fulfilled' ? s.value : { error: s.reason };
    if (result.error !== undefined || !result.plan) return failed(host, result.error);
    return { host, state: 'ok', text: `${changed(result.plan)} changed, ${unchanged(result.plan)} unchanged` };
  });
  if (applied) process.stdout.write(`Apply finished in ${Date.now() - started} ms.\n`);
  return finish(outcomes, 'the apply');
}

export async function destroyHosts(groups: readonly Group[], options: EngineOptions): Promise<number> {
  const parallelism = options.parallelism ?? DEFAULT_PARALLELISM;
  const allowDataLoss = new Set(options.allowDataLoss);
  // Each host checks its whole destroy before any is asked for or started (as a local destroy does).
  const checked = await runBounded(groups, parallelism, async (group) =>
    group.connection
      ? ((await onHost(group, 'destroy-check', { allowDataLoss: [...allowDataLoss] })).refusals ?? [])
      : refusedDestroy(group.items, allowDataLoss),
  );
  const outcomes = new Map<string, HostOutcome>();
  const toDestroy: Group[] = [];
  checked.forEach((c, i) => {
    const host = groups[i].name;
    if (c.status === 'rejected') outcomes.set(host, failed(host, c.reason));
    else if (c.value.length > 0) {
      process.stderr.write(
        `hoststore: ${host}: the destroy is refused, so nothing is changed there:\n${c.value.map((r) => `  ${r}`).join('\n')}\n`,
      );
      outcomes.set(host, { host, state: 'refused', text: c.value[0] });
    } else toDestroy.push(groups[i]);
  });
  if (toDestroy.length > 0 && !options.autoApprove)
    await confirm(
      `destroy what ${options.app}${options.stack ? ` (stack ${options.stack})` : ''} declares on ${toDestroy.map((g) => g.name).join(', ')}, by each removal policy?`,
      '--auto-approve',
    );
  const settled = await runBounded(toDestroy, parallelism, async (group) => {
    const log = (line: string) => process.stdout.write(`${group.name}: ${line}\n`);
    if (!group.connection) return destroyDesired(group.items, { allowDataLoss, log });
    const answer = await onHost(group, 'destroy', { allowDataLoss: [...allowDataLoss] });
    for (const line of answer.log) log(line);
    return answer.retained ?? [];
  });
  settled.forEach((s, i) => {
    const host = toDestroy[i].name;
    if (s.status === 'rejected') {
      outcomes.set(host, failed(host, s.reason));
      return;
    }
    for (const r of s.value) process.stdout.write(`${host}: retained (data kept): ${r}\n`);
    outcomes.set(host, { host, state: 'ok', text: `destroyed, ${s.value.length} retained` });
  });
  return finish(
    groups.map((g) => outcomes.get(g.name)!),
    'the destroy',
  );
}
