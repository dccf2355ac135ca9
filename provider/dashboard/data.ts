/**
 * What the dashboard shows, as data: each host's storage, leases, snapshots (recorded state only), backups
 * and root space, read here for this machine and by a `dashboard` read request on a remote host; then the
 * overview, the storage table and one storage's detail made from them. Never a lock, a hash or restic.
 */
import type { StorageKind } from '../../src/schema.js';
import type { HostRoots } from '../commands/app-roots.js';
import type { LeaseEntry } from '../commands/read-data.js';
import { readLocalHost } from './host-data.js';
import type { JournalEvent } from '../journal/event.js';
import type { DashboardSnapshot, HostData, OverviewData, RootSpace, StorageRow } from './api.js';
import type { PlanCounts } from './attention.js';

/** A host that could not be read: named, with why, and nothing else. */
export function failedHost(host: string, error: string): HostData {
  return { host, error, roots: [], storage: [], leases: [], snapshots: [], backups: [] };
}

/**
 * How long a remote host has to answer one dashboard read: a host whose hoststore hangs (a stuck mount there)
 * is shown as not answering, and every page still answers with the other hosts.
 */
export const REMOTE_READ_TIMEOUT_MS = 30_000;

/** Every host of `source`, read a few at a time; a host that fails is shown with its error, the others still. */
export async function readHosts(
  source: readonly HostRoots[],
  parallelism = 4,
  timeoutMs = REMOTE_READ_TIMEOUT_MS,
): Promise<HostData[]> {
  const { runBounded, oneLine } = await import('../remote/fleet.js');
  const settled = await runBounded(source, parallelism, (host) =>
    host.connection ? readRemoteHost(host, timeoutMs) : Promise.resolve(readLocalHost(host.name, host.roots)),
  );
  return settled.map((s, i) => (s.status === 'fulfilled' ? s.value : failedHost(source[i].name, oneLine(s.reason))));
}

/**
 * A `read` request to a storage host, given up after `timeoutMs`: its ssh is stopped, and the answer does not
 * wait for ssh to close (the shared connection ssh keeps for 60 s may hold its output open).
 */
async function readRemote(host: HostRoots, fields: object, timeoutMs: number) {
  const { request, failureLine } = await import('../remote/host-request.js');
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(
        new Error(
          `host ${host.name} did not answer within ${timeoutMs / 1000} s (its hoststore may be stuck there); the request was stopped`,
        ),
      );
    }, timeoutMs);
  });
  const asked = request(host.connection!, 'read', fields, { signal: controller.signal });
  asked.catch(() => undefined); // once late has won, its own failure (stopped) is no one's to hear
  try {
    const run = await Promise.race([asked, late]);
    if (run.stdout === '') throw new Error(failureLine(host.connection!, run));
    return run;
  } finally {
    clearTimeout(timer);
  }
}

/** A storage host's answer to a `dashboard` read, labelled with the name this machine gives it. */
async function readRemoteHost(host: HostRoots, timeoutMs: number): Promise<HostData> {
  const run = await readRemote(host, { op: 'dashboard', roots: host.roots, json: true }, timeoutMs);
  let data: HostData;
  try {
    data = JSON.parse(run.stdout) as HostData;
  } catch {
    throw new Error(
      `host ${host.name} answered with output that is not JSON; is its hoststore the same version as this one?`,
    );
  }
  const problem = shapeProblem(data);
  if (problem)
    throw new Error(`host ${host.name} answered with ${problem}; is its hoststore the same version as this one?`);
  // Labelled here, last: a host's answer cannot relabel its rows as another host's.
  return {
    host: host.name,
    roots: data.roots,
    storage: data.storage.map((s) => ({ ...s, host: host.name })),
    leases: data.leases,
    snapshots: data.snapshots,
    backups: data.backups,
  };
}

/**
 * What is wrong with a host's answer, if anything: the fields the pages and /metrics read must have their
 * types, so one odd host is shown with an error instead of breaking the page of every host.
 */
function shapeProblem(data: HostData): string | undefined {
  if (typeof data !== 'object' || data === null) return 'something that is not an object';
  const lists = ['roots', 'storage', 'leases', 'snapshots', 'backups'] as const;
  for (const list of lists) if (!Array.isArray(data[list])) return `no list of ${list}`;
  const strings = (o: object, ...keys: string[]) =>
    keys.every((k) => typeof (o as Record<string, unknown>)[k] === 'string');
  const numbers = (o: object, ...keys: string[]) =>
    keys.every((k) => typeof (o as Record<string, unknown>)[k] === 'number');
  if (
    !data.roots.every(
      (r) =>
        typeof r === 'object' &&
        r !== null &&
        strings(r, 'root') &&
        numbers(r, 'sizeBytes', 'freeBytes', 'nominalBytes', 'allocatedBytes', 'overcommit', 'storageCount'),
    )
  )
    return 'a root space of the wrong shape';
  // Fields that may be left out must still have their type when given: the pages, attention and /metrics compute with them.
  const object = (v: unknown): v is object => typeof v === 'object' && v !== null && !Array.isArray(v);
  const optional = (o: object, type: 'string' | 'number' | 'boolean', ...keys: string[]) =>
    keys.every((k) => {
      const v = (o as Record<string, unknown>)[k];
      return v === undefined || (typeof v === type && (type !== 'number' || Number.isFinite(v)));
    });
  if (
    !data.storage.every(
      (s) =>
        object(s) &&
        strings(s, 'name', 'kind', 'project', 'root', 'state', 'path') &&
        optional(s, 'number', 'sizeGb', 'allocatedBytes') &&
        optional(s, 'string', 'stack', 'filesystem', 'removalPolicy', 'createdAt', 'lastSnapshotAt') &&
        (s.usage === undefined ||
          (object(s.usage) && numbers(s.usage, 'sizeBytes', 'usedBytes', 'freeBytes') && strings(s.usage, 'source'))) &&
        (s.lease === undefined || object(s.lease)) &&
        (s.backup === undefined ||
          (object(s.backup) &&
            strings(s.backup, 'repository', 'state') &&
            optional(s.backup, 'number', 'lagSeconds') &&
            optional(s.backup, 'string', 'lastPushedAt', 'error'))) &&
        Array.isArray(s.mounts) &&
        s.mounts.every(
          (m) =>
            object(m) &&
            strings(m, 'project', 'service', 'mountPath', 'hostPath') &&
            numbers(m, 'replica') &&
            optional(m, 'boolean', 'readOnly', 'mounted'),
        ),
    )
  )
    return 'a storage row of the wrong shape';
  if (
    !data.leases.every(
      (l) =>
        object(l) &&
        strings(l, 'disk', 'project', 'service', 'root', 'since', 'hostPath') &&
        optional(l, 'number', 'replica') &&
        optional(l, 'boolean', 'stale'),
    )
  )
    return 'a lease of the wrong shape';
  if (
    !data.snapshots.every(
      (x) =>
        object(x) &&
        strings(x, 'id', 'kind', 'project', 'storage', 'root', 'createdAt', 'state') &&
        optional(x, 'number', 'allocatedBytes'),
    )
  )
    return 'a snapshot of the wrong shape';
  if (
    !data.backups.every(
      (b) =>
        object(b) &&
        strings(b, 'kind', 'project', 'storage', 'repository', 'root', 'state') &&
        optional(b, 'number', 'lagSeconds') &&
        optional(b, 'string', 'error', 'lastAttemptAt', 'lastPushedAt', 'lastSnapshotAt', 'lastBackupId'),
    )
  )
    return 'a backup row of the wrong shape';
  return undefined;
}

/** GET /api/overview: each host's capacity and what needs attention (with --app: the plan's changes as drift). */
export async function overview(hosts: readonly HostData[], plan?: PlanCounts, now = new Date()): Promise<OverviewData> {
  const { attentionItems } = await import('./attention.js');
  return {
    generatedAt: now.toISOString(),
    hosts: hosts.map((h) => ({ host: h.host, ...(h.error ? { error: h.error } : {}), roots: h.roots })),
    attention: attentionItems(hosts, plan, now),
  };
}

/** GET /api/storage: every storage row of every host. */
export function storageRows(hosts: readonly HostData[]): StorageRow[] {
  return hosts.flatMap((h) => h.storage);
}

/** Which storage a page or API call is about: host, kind and name from the path, root and project from the query. */
export interface StorageKey {
  readonly host: string;
  readonly kind: string;
  readonly name: string;
  readonly root?: string;
  readonly project?: string;
}

/** GET /api/storage/:host/:kind/:name */
export interface StorageDetail {
  readonly storage: StorageRow;
  readonly rootSpace?: RootSpace;
  readonly snapshots: readonly DashboardSnapshot[];
  readonly backups: HostData['backups'];
  readonly leases: readonly LeaseEntry[];
  readonly history: readonly HistoryEvent[];
}

/** An event as `history --json` gives it: with the host and root it was read from. */
export type HistoryEvent = JournalEvent & { readonly host: string; readonly root: string };

/** The one storage `key` names (the first match when root or project is left out), or undefined. */
export function findStorage(hosts: readonly HostData[], key: StorageKey): StorageRow | undefined {
  return storageRows(hosts).find(
    (s) =>
      s.host === key.host &&
      s.kind === key.kind &&
      s.name === key.name &&
      (key.root === undefined || s.root === key.root) &&
      (key.project === undefined || s.project === key.project),
  );
}

/** One storage's detail; `source` says how its host is reached (its history is read there). */
export async function storageDetail(
  source: readonly HostRoots[],
  hosts: readonly HostData[],
  key: StorageKey,
  timeoutMs = REMOTE_READ_TIMEOUT_MS,
): Promise<StorageDetail | undefined> {
  const storage = findStorage(hosts, key);
  if (!storage) return undefined;
  const host = hosts.find((h) => h.host === storage.host)!;
  const same = (t: { root: string; kind: StorageKind; project: string }, name: string) =>
    t.root === storage.root && t.kind === storage.kind && name === storage.name && t.project === storage.project;
  return {
    storage,
    rootSpace: host.roots.find((r) => r.root === storage.root),
    snapshots: host.snapshots.filter((s) => same(s, s.storage)),
    backups: host.backups.filter((b) => same(b, b.storage)),
    leases: host.leases.filter((l) => l.root === storage.root && storage.kind === 'disk' && l.disk === storage.name),
    history: await history(
      source.filter((h) => h.name === storage.host).map((h) => ({ ...h, roots: [storage.root] })),
      { kind: storage.kind, project: storage.project, storage: storage.name },
      timeoutMs,
    ),
  };
}

export interface HistoryFilter {
  readonly kind?: StorageKind;
  readonly project?: string;
  readonly storage?: string;
  readonly since?: Date;
}

/**
 * GET /api/history: the journal events of the roots in `source`, as `history --json` gives them (with host and
 * root), oldest first; a remote host's through its `history` read. A host that cannot be read adds nothing.
 */
export async function history(
  source: readonly HostRoots[],
  filter: HistoryFilter,
  timeoutMs = REMOTE_READ_TIMEOUT_MS,
): Promise<HistoryEvent[]> {
  const { runBounded } = await import('../remote/fleet.js');
  // A disk's history is its name's, whatever project it was in at the time.
  const project = filter.kind === 'disk' ? undefined : filter.project;
  const settled = await runBounded(source, 4, async (host): Promise<HistoryEvent[]> => {
    if (host.connection) return remoteHistory(host, { ...filter, project }, timeoutMs);
    const { readJournal } = await import('../journal/read-journal.js');
    return host.roots.flatMap((root) =>
      readJournal(root, { ...filter, project }).events.map((e) => ({ ...e, host: host.name, root })),
    );
  });
  const events = settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
  // Stable: events of one time keep the order their journal has them in.
  return events
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.time.localeCompare(b.e.time) || a.i - b.i)
    .map(({ e }) => e);
}

/** A storage host's journal through its `history` read (name, project and since there; kind here). */
async function remoteHistory(host: HostRoots, filter: HistoryFilter, timeoutMs: number): Promise<HistoryEvent[]> {
  const run = await readRemote(
    host,
    {
      op: 'history',
      roots: host.roots,
      json: true,
      ...(filter.storage === undefined ? {} : { name: filter.storage }),
      ...(filter.project === undefined ? {} : { project: filter.project }),
      ...(filter.since === undefined ? {} : { since: filter.since.toISOString() }),
    },
    timeoutMs,
  );
  const events = JSON.parse(run.stdout) as unknown;
  if (!Array.isArray(events)) throw new Error(`host ${host.name} answered its history with something else`);
  // Held to the rules a journal line is read by and to what was asked: another version's (or a hostile) answer
  // cannot break the page, add fields, or put events of other storage or roots into this history.
  const [{ validEvent }, { matcher }] = await Promise.all([
    import('../journal/valid-event.js'),
    import('../journal/read-journal.js'),
  ]);
  const matches = matcher(filter);
  const roots = new Set(host.roots);
  const kept: HistoryEvent[] = [];
  for (const e of events) {
    const event = validEvent(e);
    const root = (e as { root?: unknown } | null)?.root;
    if (event && typeof root === 'string' && roots.has(root) && matches(event))
      kept.push({ ...event, host: host.name, root });
  }
  return kept;
}
