/**
 * A command across hosts: things grouped by the host they live on (`local` = this machine), the groups
 * narrowed by `--host`, run a bounded number at a time, and one summary line per host at the end.
 */
import type { HostConnection } from '../../src/host-connection.js';
import { HoststoreError, RefusedError, SpecError, UsageError } from '../errors.js';
import { naturalCompare } from '../natural-order.js';

/** The name `--host` and the summaries give this machine. */
export const LOCAL_HOST = 'local';

export const DEFAULT_PARALLELISM = 4;
export const MAX_PARALLELISM = 64;

/** The things of one host: `connection` is absent for this machine. */
export interface HostGroup<T> {
  /** `local`, or the host's address. */
  readonly name: string;
  readonly connection?: HostConnection;
  readonly items: T[];
}

/** The host a desired spec lives on, as its synth output's provisioners reach it (absent: this machine). */
export function hostOf(spec: object): HostConnection | undefined {
  return (spec as { readonly host?: HostConnection }).host;
}

/** How the same address is reached must be said once: two ways (other user, port or key) are a conflict. */
function sameWay(a: HostConnection, b: HostConnection): boolean {
  return (
    a.user === b.user && a.port === b.port && a.identityFile === b.identityFile && a.knownHostsFile === b.knownHostsFile
  );
}

/** `items` by host: this machine's first, then each host by address (natural order); each group keeps the items' order. */
export function groupByHost<T>(items: readonly T[], hostOf: (item: T) => HostConnection | undefined): HostGroup<T>[] {
  const groups = new Map<string, { name: string; connection?: HostConnection; items: T[] }>();
  for (const item of items) {
    const connection = hostOf(item);
    // A host called `local` would share this machine's group: its things applied here, or this machine's sent there.
    if (connection?.address === LOCAL_HOST)
      throw new SpecError(
        `host address '${LOCAL_HOST}' is the name hoststore gives the machine that runs it (--host ${LOCAL_HOST}, the summaries), so that host could be taken for this one: give its full DNS name or its IP address`,
      );
    const name = connection ? connection.address : LOCAL_HOST;
    const group = groups.get(name);
    if (!group) {
      groups.set(name, { name, connection, items: [item] });
      continue;
    }
    if (connection && group.connection && !sameWay(connection, group.connection))
      throw new SpecError(
        `host ${name} is declared with two different connections (${JSON.stringify(group.connection)} and ${JSON.stringify(connection)}); give every StorageProject on one host the same host props`,
      );
    group.items.push(item);
  }
  return [...groups.values()].sort((a, b) =>
    a.name === LOCAL_HOST ? -1 : b.name === LOCAL_HOST ? 1 : naturalCompare(a.name, b.name),
  );
}

/**
 * The groups `--host` names (all when it names none). A name that is not a host of the app is a usage
 * error listing those that are: a typo must not quietly act on nothing.
 */
export function selectHosts<G extends { readonly name: string }>(
  groups: readonly G[],
  wanted: readonly string[] | undefined,
): G[] {
  if (!wanted || wanted.length === 0) return [...groups];
  const known = groups.map((g) => g.name);
  const unknown = wanted.filter((name) => !known.includes(name));
  if (unknown.length > 0)
    throw new UsageError(
      `--host ${unknown[0]} is not a host this synth output declares (its hosts: ${known.join(', ') || 'none'}); name one of them, or '${LOCAL_HOST}' for this machine`,
    );
  return groups.filter((g) => wanted.includes(g.name));
}

/** Runs `work` on every item, at most `limit` at once; each item's outcome, in the items' order (none throws). */
export async function runBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { status: 'fulfilled', value: await work(items[index], index) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** How one host ended: `failed` (could not run, or its run failed) and `refused` (it would lose data or break a rule) say why in one line. */
export interface HostOutcome {
  readonly host: string;
  readonly state: 'ok' | 'failed' | 'refused';
  /** After `host: `: `3 changed, 5 unchanged`, or the reason it failed. */
  readonly text: string;
}

export function hostSummary(outcomes: readonly HostOutcome[]): string {
  return outcomes.map((o) => `${o.host}: ${o.state === 'ok' ? o.text : `${o.state}: ${o.text}`}`).join('\n');
}

/** A thrown error as one line (its first), for a summary. */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].trim() || 'failed';
}

/** Whether the error means the host refused (exit 3 class), not that it failed. */
export function isRefusal(error: unknown): boolean {
  return error instanceof HoststoreError && error.exitCode === new RefusedError('').exitCode;
}

/**
 * The error a command ends with when some hosts did not succeed: names them; a refusal's exit status (3)
 * when every one of them refused, else a failure's (1).
 */
export function fleetError(outcomes: readonly HostOutcome[], what: string): HoststoreError | undefined {
  const bad = outcomes.filter((o) => o.state !== 'ok');
  if (bad.length === 0) return undefined;
  const message = `${what} did not succeed on ${bad.length} of ${outcomes.length} host${outcomes.length === 1 ? '' : 's'}: ${bad.map((o) => `${o.host} (${o.state})`).join(', ')}${bad.length < outcomes.length ? '; the others are done' : ''}. Fix what the summary above says and run it again`;
  return bad.every((o) => o.state === 'refused') ? new RefusedError(message) : new HoststoreError(message);
}

/** `--parallelism N`: how many hosts at once, a whole number from 1 to 64. */
export function parallelismOf(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PARALLELISM;
  const n = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARALLELISM)
    throw new UsageError(
      `--parallelism must be a whole number from 1 to ${MAX_PARALLELISM} (got ${JSON.stringify(value)}); for example --parallelism ${DEFAULT_PARALLELISM}`,
    );
  return n;
}
