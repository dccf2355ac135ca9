/**
 * The read commands (`list`, `status`, `lease-list`, `snapshot list`) of an app that reaches remote hosts:
 * each host reads its roots (`read` requests answered with the --json data, see ../remote/serve-read.ts;
 * this machine's part is read here), a bounded number at once; the text goes under a `host X:` heading per
 * host, the --json items each get `host`. A host that cannot be read is named, and the others still shown.
 */
import type { GlobalOptions } from '../cli/options.js';
import { HoststoreError, UsageError } from '../errors.js';
import { DEFAULT_PARALLELISM, fleetError, oneLine, runBounded, type HostOutcome } from '../remote/fleet.js';
import { failureLine, request } from '../remote/host-request.js';
import type { ReadOp } from '../remote/serve-read.js';
import type { HostRoots } from './app-roots.js';
import type { RootSpace } from '../dashboard/api.js';
import type { HistoryEntry } from './history-data.js';
import {
  leaseEntries,
  listEntries,
  listWithSpace,
  snapshotEntries,
  statusEntry,
  type LeaseEntry,
  type ListEntry,
  type SnapshotEntry,
  type StatusEntry,
} from './read-data.js';

interface Extra {
  readonly name?: string;
  readonly verify?: boolean;
  /** history: an ISO time. */
  readonly since?: string;
}

/** A list answer: the entries, and the roots' space when the host gave it (a host of an older version does not). */
function listParts(data: unknown): { entries: ListEntry[]; roots: RootSpace[] } {
  if (Array.isArray(data)) return { entries: data as ListEntry[], roots: [] };
  const answer = data as { entries?: unknown; roots?: unknown };
  return {
    entries: Array.isArray(answer.entries) ? (answer.entries as ListEntry[]) : [],
    roots: Array.isArray(answer.roots) ? (answer.roots as RootSpace[]) : [],
  };
}

/** A host's answer: its entries (one for status) and the read's exit status (snapshot list: 1 when one is damaged). */
interface HostRead {
  readonly data: unknown;
  readonly code: number;
}

async function readHere(op: ReadOp, host: HostRoots, options: GlobalOptions, extra: Extra): Promise<HostRead> {
  const scope = { root: host.roots[0], roots: host.roots, project: options.project };
  switch (op) {
    case 'list':
      return { data: options.json ? listEntries(scope) : listWithSpace(scope), code: 0 };
    case 'status':
      return { data: statusEntry(extra.name!, scope), code: 0 };
    case 'lease-list':
      return { data: leaseEntries(scope), code: 0 };
    case 'snapshot-list': {
      const entries = await snapshotEntries(scope, extra.name, extra.verify ?? false, (line) =>
        process.stderr.write(`local: ${line}\n`),
      );
      return { data: entries, code: entries.every((s) => s.intact) ? 0 : 1 };
    }
    case 'history': {
      const { historyEntries } = await import('./history-data.js');
      const since = extra.since === undefined ? undefined : new Date(extra.since);
      const data = historyEntries(scope, extra.name, since, (line) => process.stderr.write(`local: ${line}\n`));
      return { data, code: 0 };
    }
  }
}

async function readThere(op: ReadOp, host: HostRoots, options: GlobalOptions, extra: Extra): Promise<HostRead> {
  const connection = host.connection!;
  const run = await request(connection, 'read', {
    op,
    roots: host.roots,
    json: true,
    ...(extra.name === undefined ? {} : { name: extra.name }),
    ...(options.project === undefined ? {} : { project: options.project }),
    ...(extra.verify === undefined ? {} : { verify: extra.verify }),
    // The text ends each root with its space; --json stays the entries alone.
    ...(op === 'list' && !options.json ? { space: true } : {}),
    ...(extra.since === undefined ? {} : { since: extra.since }),
  });
  // The host's progress lines (a snapshot hashed again) and warnings, under its name.
  for (const line of run.stderr.split('\n').filter(Boolean))
    if (run.code === 0 || run.stdout !== '')
      process.stderr.write(`${host.name}: ${line.replace(/^hoststore: /, '')}\n`);
  if (run.stdout === '') throw new HoststoreError(failureLine(connection, run));
  try {
    return { data: JSON.parse(run.stdout), code: run.code };
  } catch {
    throw new HoststoreError(
      `host ${host.name} answered with output that is not JSON; is its hoststore the same version as this one?`,
    );
  }
}

/** A --json item labelled with the host it came from: last, so a `host` field in the host's answer cannot relabel it. */
export const withHost = (host: string, item: unknown) => ({ ...(item as object), host });

/** Runs the read on every host of `options.hosts` and prints them all; resolves to the exit status. */
export async function readHosts(op: ReadOp, options: GlobalOptions, extra: Extra = {}): Promise<number> {
  const hosts = options.hosts ?? [];
  const settled = await runBounded(hosts, options.parallelism ?? DEFAULT_PARALLELISM, (host) =>
    host.connection ? readThere(op, host, options, extra) : readHere(op, host, options, extra),
  );
  const reads = settled.map((s, i) =>
    s.status === 'fulfilled' ? { host: hosts[i], read: s.value } : { host: hosts[i], error: s.reason as unknown },
  );
  if (op === 'status') return printStatus(reads, options, extra.name!);
  const outcomes: HostOutcome[] = reads.map((r) =>
    r.read
      ? { host: r.host.name, state: 'ok', text: 'read' }
      : { host: r.host.name, state: 'failed', text: oneLine(r.error) },
  );
  if (options.json) {
    const items = reads.flatMap((r) =>
      r.read
        ? (op === 'list' ? listParts(r.read.data).entries : (r.read.data as unknown[])).map((i) =>
            withHost(r.host.name, i),
          )
        : [],
    );
    process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
  } else {
    const text = await renderer(op, extra);
    process.stdout.write(
      `${reads.map((r) => `host ${r.host.name}:\n${r.read ? text(r.read.data, r.host.roots) : `failed: ${oneLine(r.error)}`}`).join('\n\n')}\n`,
    );
  }
  const failed = fleetError(outcomes, `the ${op.replace('snapshot-list', 'snapshot list')}`);
  if (failed) {
    process.stderr.write(`hoststore: ${failed.message}\n`);
    return failed.exitCode;
  }
  return Math.max(0, ...reads.map((r) => r.read?.code ?? 0));
}

/** The text a local read prints, made from a host's data. */
async function renderer(
  op: Exclude<ReadOp, 'status'>,
  extra: Extra,
): Promise<(data: unknown, roots: readonly string[]) => string> {
  switch (op) {
    case 'list': {
      const { listText } = await import('./list.js');
      return (data, roots) => {
        const parts = listParts(data);
        return listText(parts.entries, roots, parts.roots);
      };
    }
    case 'lease-list': {
      const { leaseText } = await import('./lease.js');
      return (data, roots) => leaseText(data as LeaseEntry[], roots);
    }
    case 'snapshot-list': {
      const { snapshotText } = await import('./snapshot.js');
      return (data, roots) => snapshotText(data as SnapshotEntry[], roots);
    }
    case 'history': {
      const { historyText } = await import('./history.js');
      return (data, roots) => historyText(data as HistoryEntry[], roots, extra.name);
    }
  }
}

/** `status NAME`: the one host that has it (asked of every host); a name on several hosts needs --host. */
async function printStatus(
  reads: ReadonlyArray<{ host: HostRoots; read?: HostRead; error?: unknown }>,
  options: GlobalOptions,
  name: string,
): Promise<number> {
  const found = reads.filter((r) => r.read);
  if (found.length > 1)
    throw new UsageError(
      `'${name}' names storage on ${found.length} hosts (${found.map((r) => r.host.name).join(', ')}); pick one with --host`,
    );
  if (found.length === 0) {
    const unread = reads.filter((r) => !/no storage named/.test(oneLine(r.error)));
    throw new HoststoreError(
      `no storage named '${name}' on the hosts of this app (${reads.map((r) => r.host.name).join(', ')})${unread.length ? `; could not read ${unread.map((r) => `${r.host.name} (${oneLine(r.error)})`).join(', ')}` : ''}`,
    );
  }
  const [{ host, read }] = found;
  if (options.json) process.stdout.write(`${JSON.stringify(withHost(host.name, read!.data), null, 2)}\n`);
  else
    process.stdout.write(`host ${host.name}:\n${(await import('./list.js')).statusText(read!.data as StatusEntry)}\n`);
  return 0;
}
