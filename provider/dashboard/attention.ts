/**
 * What needs a person's attention across hosts, most serious first, each as one line saying what, where,
 * the rule it broke and the command that fixes or looks into it. Computed from HostData alone.
 */
import type { StorageKind } from '../../src/schema.js';
import { commandHint, shellWord } from '../command-hint.js';
import { usedPercent } from '../host/fs-usage.js';
import type { AttentionItem, AttentionKind, HostData, RootSpace, StorageRow } from './api.js';

/** What the app's pending plan holds (from `hoststore plan`), when the dashboard was started with --app. */
export interface PlanCounts {
  readonly changes: number;
  readonly refused: number;
  readonly dataLoss: number;
}

/** A root with less than this share free needs attention whatever it holds. */
export const LOW_SPACE_SHARE = 0.1;
/** A filesystem at least this full (df's Use%) needs attention. */
export const FULL_PERCENT = 90;
/** A backup further behind than this (its newest snapshot not pushed) needs attention. */
export const BACKUP_BEHIND_SECONDS = 24 * 3600;
const MESSAGE_LIMIT = 1000;

/** Within a severity, the order items are listed in (the most consequential first). */
const ORDER: readonly AttentionKind[] = [
  'host-unreachable',
  'root-low-space',
  'storage-missing',
  'filesystem-full',
  'snapshot-changed',
  'backup-failing',
  'mount-missing',
  'lease-stale',
  'backup-behind',
  'snapshot-unverified',
  'drift',
];

export function attentionItems(hosts: readonly HostData[], plan?: PlanCounts, now: Date = new Date()): AttentionItem[] {
  const items: AttentionItem[] = [];
  for (const host of hosts) {
    if (host.error !== undefined) {
      items.push({
        severity: 'error',
        what: 'host-unreachable',
        host: host.host,
        message: `host ${host.host} could not be read: ${oneLine(host.error)}; check that it is up and reachable over ssh, and that its hoststore is the same version`,
      });
      continue;
    }
    for (const root of host.roots) items.push(...rootItems(host, root));
    for (const row of host.storage) items.push(...storageItems(host, row));
    for (const lease of host.leases.filter((l) => l.stale))
      items.push({
        severity: 'warning',
        what: 'lease-stale',
        host: host.host,
        root: lease.root,
        kind: 'disk',
        project: lease.project,
        storage: lease.disk,
        message: `disk ${lease.disk}: held by ${lease.project}/${lease.service} replica ${lease.replica} since ${lease.since}, but its host path ${lease.hostPath} no longer shows it (a stale lease); if that holder is gone, run ${fix(host, lease.root, `lease break ${shellWord(lease.disk)}`)}`,
      });
    items.push(...snapshotItems(host));
    items.push(...backupItems(host, now));
  }
  if (plan && plan.changes > 0)
    items.push({
      severity: 'warning',
      what: 'drift',
      host: 'local',
      message: `the app's hosts differ from its code: the plan has ${count(plan.changes, 'change')}${plan.refused ? `, ${plan.refused} refused` : ''}${plan.dataLoss ? `, ${plan.dataLoss} that would lose data` : ''}; review it with ${commandHint(undefined, 'plan')}, then apply`,
    });
  const rank = (i: AttentionItem) => (i.severity === 'error' ? 0 : 1) * ORDER.length + ORDER.indexOf(i.what);
  // Stable: within one kind, hosts, roots and storage keep the order they were read in.
  return items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => rank(a.item) - rank(b.item) || a.index - b.index)
    .map(({ item }) => ({ ...item, message: clip(item.message) }));
}

/**
 * A root is low on space when less than 10 % of its filesystem is free (error), or when less is free than
 * its largest image could still write (its nominal size minus what it has allocated; warning).
 */
function rootItems(host: HostData, root: RootSpace): AttentionItem[] {
  const where = `root ${root.root}${host.host === 'local' ? '' : ` on ${host.host}`}`;
  const free = `${gib(root.freeBytes)} free of ${gib(root.sizeBytes)}`;
  if (root.sizeBytes > 0 && root.freeBytes < LOW_SPACE_SHARE * root.sizeBytes)
    return [
      {
        severity: 'error',
        what: 'root-low-space',
        host: host.host,
        root: root.root,
        message: `${where}: ${free} (under 10 %); images that grow into it will fail to write; free space on it or move storage off it (see ${fix(host, root.root, 'list')})`,
      },
    ];
  const largest = host.storage
    .filter((s) => s.root === root.root && s.kind !== 'directory' && s.sizeGb !== undefined)
    .map((s) => ({ s, unwritten: s.sizeGb! * 1024 ** 3 - (s.allocatedBytes ?? 0) }))
    .sort((a, b) => b.unwritten - a.unwritten)[0];
  if (largest && largest.unwritten > root.freeBytes)
    return [
      {
        severity: 'warning',
        what: 'root-low-space',
        host: host.host,
        root: root.root,
        message: `${where}: ${free}, less than ${largest.s.kind} ${largest.s.name} alone may still write (${gib(largest.unwritten)} of its ${largest.s.sizeGb} GB not allocated yet); free space on it or move storage off it (see ${fix(host, root.root, 'list')})`,
      },
    ];
  return [];
}

function storageItems(host: HostData, row: StorageRow): AttentionItem[] {
  const where = located(host, row);
  const base = { host: host.host, root: row.root, kind: row.kind, project: row.project, storage: row.name };
  if (row.state === 'missing')
    return [
      {
        ...base,
        severity: 'error',
        what: 'storage-missing',
        message: `${where}: registered but not on the host (${row.path} is gone); restore it from a snapshot (${fix(host, row.root, `snapshot list ${shellWord(row.name)}`)}) or apply to create it anew`,
      },
    ];
  // Retained storage is kept, not used: its mounts are not expected to be up.
  if (row.state === 'retained' || row.state === 'creating') return [];
  return [...fullItems(host, row), ...mountItems(host, row)];
}

/**
 * A filesystem at FULL_PERCENT or more of what users can fill (df's Use%) is about to fail its writes
 * (warning); at 100 % it does (error). Its image can be grown in the code (`sizeGb`).
 */
function fullItems(host: HostData, row: StorageRow): AttentionItem[] {
  if (!row.usage) return [];
  const percent = usedPercent(row.usage);
  if (percent < FULL_PERCENT) return [];
  return [
    {
      host: host.host,
      root: row.root,
      kind: row.kind,
      project: row.project,
      storage: row.name,
      severity: percent >= 100 ? 'error' : 'warning',
      what: 'filesystem-full',
      message: `${located(host, row)}: its filesystem is ${percent}% full (${gib(row.usage.freeBytes)} free of ${gib(row.usage.sizeBytes)}, at least ${FULL_PERCENT}% needs attention); free space in it, or raise its sizeGb in the code and apply`,
    },
  ];
}

function mountItems(host: HostData, row: StorageRow): AttentionItem[] {
  const where = located(host, row);
  const base = { host: host.host, root: row.root, kind: row.kind, project: row.project, storage: row.name };
  return row.mounts
    .filter((m) => !m.mounted)
    .map((m) => ({
      ...base,
      severity: 'warning' as const,
      what: 'mount-missing' as const,
      message: `${where}: not mounted at ${m.hostPath} for ${m.project}/${m.service} replica ${m.replica}; mount it again with ${fix(host, row.root, 'up')}`,
    }));
}

/** Per storage: a snapshot whose content changed or is gone (error); snapshots never verified (one warning). */
function snapshotItems(host: HostData): AttentionItem[] {
  const items: AttentionItem[] = [];
  const unverified = new Map<
    string,
    { root: string; kind: StorageKind; project: string; storage: string; ids: string[]; never: number }
  >();
  for (const s of host.snapshots) {
    const where = `${s.kind} ${s.storage}${s.kind === 'disk' ? '' : ` (project ${s.project})`}${host.host === 'local' ? '' : ` on ${host.host}`}`;
    const base = { host: host.host, root: s.root, kind: s.kind, project: s.project, storage: s.storage };
    if (s.state === 'changed' || s.state === 'missing')
      items.push({
        ...base,
        severity: 'error',
        what: 'snapshot-changed',
        message: `${where}: snapshot ${s.id} ${s.state === 'missing' ? 'is missing' : 'no longer matches its checksum (its content changed)'}; do not restore from it; check it with ${fix(host, s.root, `snapshot list ${shellWord(s.storage)} --verify`)} and delete it with ${fix(host, s.root, `snapshot delete ${shellWord(s.id)}`)}`,
      });
    // Never verified (or its checksum still pending), or `unverified` as the dashboard's data marks one whose
    // file changed since it was verified: only a hash can tell, and the dashboard never hashes.
    else if (!s.verified || s.checksumPending || (s.state as string) === 'unverified') {
      const key = `${s.root}\0${s.kind}\0${s.project}\0${s.storage}`;
      const group = unverified.get(key) ?? { ...base, root: s.root, ids: [], never: 0 };
      group.ids.push(s.id);
      if (!s.verified || s.checksumPending) group.never += 1;
      unverified.set(key, group);
    }
  }
  for (const g of unverified.values())
    items.push({
      host: host.host,
      root: g.root,
      kind: g.kind,
      project: g.project,
      storage: g.storage,
      severity: 'warning',
      what: 'snapshot-unverified',
      message: `${g.kind} ${g.storage}${host.host === 'local' ? '' : ` on ${host.host}`}: ${unverifiedText(g.ids, g.never)}; verify with ${fix(host, g.root, `snapshot list ${shellWord(g.storage)} --verify`)}`,
    });
  return items;
}

/** `snapshot X was never verified`, `2 snapshots (newest Y) changed on disk since verified`, or both counted. */
function unverifiedText(ids: readonly string[], never: number): string {
  const which = ids.length === 1 ? `snapshot ${ids[0]}` : `${ids.length} snapshots (newest ${ids[ids.length - 1]})`;
  const changed = ids.length - never;
  if (changed === 0) return `${which} ${ids.length === 1 ? 'was' : 'were'} never verified`;
  if (never === 0)
    return `${which} changed on disk since ${ids.length === 1 ? 'it was' : 'they were'} verified (only a hash can tell whether the content did)`;
  return `${which} are unverified: ${never} never verified, ${changed} changed on disk since verified`;
}

/** A failing push (error); a storage whose newest snapshot is more than a day ahead of what was pushed (warning). */
function backupItems(host: HostData, now: Date): AttentionItem[] {
  const items: AttentionItem[] = [];
  for (const b of host.backups) {
    const where = `${b.kind} ${b.storage}${b.kind === 'disk' ? '' : ` (project ${b.project})`}${host.host === 'local' ? '' : ` on ${host.host}`}`;
    const base = { host: host.host, root: b.root, kind: b.kind, project: b.project, storage: b.storage };
    // A volume's name may be used by several projects: its push names the project.
    const project = b.kind === 'disk' ? '' : ` --project ${shellWord(b.project)}`;
    const push = fix(
      host,
      b.root,
      `backup push ${shellWord(b.storage)}${project} --repository ${shellWord(b.repository)}`,
    );
    if (b.state === 'failing')
      items.push({
        ...base,
        severity: 'error',
        what: 'backup-failing',
        message: `${where}: pushing to ${b.repository} fails${b.lastAttemptAt ? ` (last attempt ${b.lastAttemptAt})` : ''}: ${oneLine(b.error ?? 'no error recorded')}; fix that, then run ${push}`,
      });
    else if (b.state === 'behind') {
      // Never pushed: behind since its newest snapshot was taken.
      const lag =
        b.lagSeconds ??
        (b.lastSnapshotAt ? Math.max(0, (now.getTime() - Date.parse(b.lastSnapshotAt)) / 1000) : undefined);
      if (lag !== undefined && lag > BACKUP_BEHIND_SECONDS)
        items.push({
          ...base,
          severity: 'warning',
          what: 'backup-behind',
          message: `${where}: ${b.lastPushedAt ? `its newest snapshot is ${duration(lag)} newer than the last one pushed to ${b.repository}` : `nothing pushed to ${b.repository} yet, ${duration(lag)} after its newest snapshot`} (more than a day behind); run ${push}`,
        });
    }
  }
  return items;
}

/** A command to run, with `--root` when needed and the host it must run on when that is not this machine. */
function fix(host: HostData, root: string, command: string): string {
  return `${commandHint(root, command)}${host.host === 'local' ? '' : ` on ${host.host}`}`;
}

function located(host: HostData, row: StorageRow): string {
  return `${row.kind} ${row.name}${row.kind === 'disk' ? '' : ` (project ${row.project})`}${host.host === 'local' ? '' : ` on ${host.host}`}`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function clip(text: string): string {
  const line = oneLine(text);
  return line.length > MESSAGE_LIMIT ? `${line.slice(0, MESSAGE_LIMIT - 1)}…` : line;
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function duration(seconds: number): string {
  if (seconds >= 2 * 86400) return `${Math.floor(seconds / 86400)} days`;
  if (seconds >= 7200) return `${Math.floor(seconds / 3600)} hours`;
  return `${Math.max(1, Math.round(seconds / 60))} minutes`;
}
