/**
 * The app's pending plan for the dashboard's /plan, computed on request (the server caches it a few
 * seconds), apart from ./data.ts so a storage host answering a `dashboard` read never loads the engine.
 */
/** One host's pending plan, or why there is none. */
export interface HostPlan {
  readonly host: string;
  readonly plan?: import('../plan/plan.js').Plan;
  readonly error?: string;
}

/**
 * The app's pending plan, as `hoststore plan --app DIR --json` computes it, per host. This machine's part is
 * read WITHOUT the root lock (the dashboard never takes it, so it never holds up an apply; a plan read
 * during one may show its changes half done); a remote host plans as `hoststore plan` asks it to.
 */
export async function pendingPlan(app: string): Promise<HostPlan[]> {
  const [{ readDesired }, { groupByHost, hostOf, runBounded, oneLine }, { makePlan }, { assertPoolMounted }] =
    await Promise.all([
      import('../plan/desired.js'),
      import('../remote/fleet.js'),
      import('../plan/plan.js'),
      import('../host/pool-guard.js'),
    ]);
  const groups = groupByHost(readDesired(app), hostOf);
  const settled = await runBounded(groups, 4, async (group) => {
    if (!group.connection) {
      for (const root of new Set(group.items.map((d) => d.spec.root))) assertPoolMounted(root);
      return makePlan(group.items);
    }
    const { engineOp } = await import('../remote/host-request.js');
    const desired = group.items.map((d) => ({ stack: d.stack, address: d.address, kind: d.kind, spec: d.spec }));
    const answer = await engineOp(group.connection, { op: 'plan', address: group.name, desired, options: {} });
    return answer.plan as import('../plan/plan.js').Plan;
  });
  return settled.map((s, i) =>
    s.status === 'fulfilled'
      ? { host: groups[i].name, plan: s.value }
      : { host: groups[i].name, error: oneLine(s.reason) },
  );
}

/** What `hoststore plan --json` prints for these: the plan itself for this machine alone, else one entry per host. */
export function planJson(plans: readonly HostPlan[]): unknown {
  if (plans.length === 1 && plans[0].host === 'local' && plans[0].plan) return plans[0].plan;
  return plans.map((p) => (p.plan ? { host: p.host, plan: p.plan } : { host: p.host, error: p.error }));
}

/** What the overview's attention list says of the plan: its changes, refused ones and those that lose data. */
export function planCounts(plans: readonly HostPlan[]): import('./attention.js').PlanCounts {
  const items = plans.flatMap((p) => p.plan?.items ?? []).filter((i) => i.action !== 'no-op');
  return {
    changes: items.length,
    refused: items.filter((i) => i.safety === 'refused').length,
    dataLoss: items.filter((i) => i.safety === 'data-loss').length,
  };
}
