/**
 * What the read commands report, as data (their --json entries): read here for this machine, and by
 * `hoststore remote` on a storage host (../remote/serve-read.ts), so the host's answer is what a local
 * --json prints. No output libraries here: a host's `hoststore remote` loads this without them.
 */
import * as fs from 'node:fs';
import { HoststoreError, UsageError } from '../errors.js';
import { inventory, type InventoryItem } from '../inventory.js';
import { makeContext } from '../handlers/handler.js';
import { leaseIsStale } from '../handlers/mount.js';
import { checkRootTrust } from '../host/root-trust.js';
import { withRootLock } from '../registry/lock.js';
import { Registry, type LeaseRecord } from '../registry/store.js';
import {
  listSnapshots,
  recordedState,
  snapshotLocation,
  verifySnapshot,
  type SnapshotRecord,
  type SnapshotState,
} from '../snapshots/snapshots.js';
import { commandHint } from '../command-hint.js';
import { rootSpace } from '../host/root-space.js';
import type { RootSpace } from '../dashboard/api.js';

export type ListEntry = InventoryItem & { readonly root: string };
/** `status --json`: the entry, and the space of the root it is on. */
export type StatusEntry = ListEntry & { readonly rootSpace?: RootSpace };
export type LeaseEntry = LeaseRecord & { readonly root: string; readonly stale: boolean };
export type SnapshotEntry = SnapshotRecord & {
  readonly root: string;
  readonly state: SnapshotState;
  readonly intact: boolean;
  /** What the snapshot's file really uses, as the table's ALLOCATED shows it (absent: not found). */
  readonly allocatedBytes?: number;
};

/** The options the reads take (a subset of the CLI's GlobalOptions). */
export interface ReadScope {
  readonly root: string;
  readonly roots?: readonly string[];
  readonly project?: string;
}

/** The roots a read covers: the app's, else the one root of --root, HOSTSTORE_ROOT or the default. */
export function rootsOf(options: ReadScope): readonly string[] {
  return options.roots && options.roots.length > 0 ? options.roots : [options.root];
}

export function listEntries(options: ReadScope): ListEntry[] {
  return rootsOf(options).flatMap((root) => inventory(root).map((i) => ({ root, ...i })));
}

/** `list` with each root's space (the text's last line per root), from one inventory of each root. */
export function listWithSpace(options: ReadScope): { entries: ListEntry[]; roots: RootSpace[] } {
  const entries: ListEntry[] = [];
  const roots: RootSpace[] = [];
  for (const root of rootsOf(options)) {
    const items = inventory(root);
    entries.push(...items.map((i) => ({ root, ...i })));
    roots.push(rootSpace(root, items));
  }
  return { entries, roots };
}

/** The one item called `name`; a name used by several projects needs --project. */
export function findItem(items: InventoryItem[], name: string, options: ReadScope): InventoryItem {
  const matches = items.filter(
    (i) => i.name === name && (!options.project || i.project === options.project || i.kind === 'disk'),
  );
  if (matches.length === 0)
    throw new HoststoreError(
      `no storage named '${name}' under ${options.root} (see ${commandHint(options.root, 'list')})`,
    );
  if (matches.length > 1) {
    throw new UsageError(
      `'${name}' names ${matches.length} storages (${matches.map((m) => `${m.kind} in project ${m.project}`).join(', ')}); pick one with --project`,
    );
  }
  return matches[0];
}

export function statusEntry(name: string, options: ReadScope): StatusEntry {
  const root = rootOfName(name, options);
  const items = inventory(root);
  return { root, ...findItem(items, name, { ...options, root }), rootSpace: rootSpace(root, items) };
}

/** The one root, of several a cdktf app declares, that has storage called `name`; more than one needs --root. */
function rootOfName(name: string, options: ReadScope): string {
  const roots = rootsOf(options);
  if (roots.length === 1) return roots[0];
  const holding = roots.filter((root) => inventory(root).some((i) => i.name === name));
  if (holding.length > 1)
    throw new UsageError(
      `'${name}' names storage under ${holding.length} roots of this app (${holding.join(', ')}); pick one with --root`,
    );
  if (holding.length === 0)
    throw new HoststoreError(
      `no storage named '${name}' under this app's roots (${roots.join(', ')}) (see ${commandHint(undefined, 'list')})`,
    );
  return holding[0];
}

export function leaseEntries(options: ReadScope): LeaseEntry[] {
  return rootsOf(options).flatMap((root) => {
    // A read opens the registry: the same check as before a change.
    checkRootTrust(root);
    return new Registry(root)
      .list<LeaseRecord>('leases')
      .map(({ record }) => ({ root, ...record, stale: leaseIsStale(root, record) }));
  });
}

/**
 * Every snapshot (of `storage`, or all) on each root, with its content's state: hashed again where its
 * file changed since verified (or every one with `verify`), under the root's lock.
 */
export async function snapshotEntries(
  options: ReadScope,
  storage: string | undefined,
  verify: boolean,
  log: (line: string) => void,
): Promise<SnapshotEntry[]> {
  const entries: SnapshotEntry[] = [];
  for (const root of rootsOf(options)) {
    // It reads the registry and hashes files of the root: the same check as before a change.
    checkRootTrust(root);
    const ctx = makeContext(root, { log });
    const judge = async () => {
      const out: SnapshotEntry[] = [];
      for (const s of listSnapshots(ctx, storage)) {
        const known = recordedState(s, ctx.root, verify);
        const state: SnapshotState = known ?? ((await verifySnapshot(s, ctx)) ? 'ok' : 'changed');
        // What verifySnapshot recorded (its verdict, a pending checksum filled in) is what is shown.
        const record = known === undefined ? (ctx.registry.get<SnapshotRecord>('snapshots', s.id) ?? s) : s;
        out.push({ root, ...record, state, intact: state === 'ok', allocatedBytes: snapshotBytes(root, record) });
      }
      return out;
    };
    const mustHash = listSnapshots(ctx, storage).some((s) => recordedState(s, ctx.root, verify) === undefined);
    entries.push(
      ...(mustHash ? await withRootLock(root, { holder: 'hoststore snapshot list' }, judge) : await judge()),
    );
  }
  return entries;
}

/** A snapshot's allocated bytes, found where the layout puts it. */
function snapshotBytes(root: string, snapshot: SnapshotRecord): number | undefined {
  try {
    return fs.statSync(snapshotLocation(root, snapshot)).blocks * 512;
  } catch {
    return undefined;
  }
}
