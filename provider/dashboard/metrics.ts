/**
 * /metrics: what the dashboard read, in Prometheus' text format (prom-client gauges in a registry of their
 * own, no process metrics), for people who graph and alert: sizes and usage, snapshot age, backup lag and
 * state, leases, root capacity and whether each host could be read.
 */
import { Gauge, Registry } from 'prom-client';
import type { BackupState } from '../backup/status.js';
import type { HostData } from './api.js';

const STORAGE = ['host', 'root', 'kind', 'project', 'storage'] as const;
const BACKUP_STATES: readonly BackupState[] = ['in-sync', 'behind', 'failing', 'stopped'];
const GiB = 1024 ** 3;

/** The text a scrape gets (content type: prom-client's `Registry.PROMETHEUS_CONTENT_TYPE`, version 0.0.4). */
export async function metricsText(hosts: readonly HostData[], now: Date): Promise<string> {
  const registry = new Registry();
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge<L>({ name, help, labelNames, registers: [registry] });

  const size = gauge('hoststore_storage_size_bytes', 'Nominal size of the storage (images only).', STORAGE);
  const allocated = gauge('hoststore_storage_allocated_bytes', 'Bytes the storage really takes on the host.', STORAGE);
  const used = gauge('hoststore_storage_used_bytes', 'Bytes used inside the filesystem of the image.', STORAGE);
  const free = gauge('hoststore_storage_free_bytes', 'Bytes still free inside the filesystem of the image.', STORAGE);
  const mounted = gauge('hoststore_storage_mounted', 'How many of the storage mounts are mounted now.', STORAGE);
  const snapshotAge = gauge(
    'hoststore_snapshot_newest_age_seconds',
    'Age of the newest snapshot of the storage (safety snapshots aside).',
    STORAGE,
  );
  const snapshotCount = gauge('hoststore_snapshot_count', 'Snapshots of the storage.', STORAGE);
  const backupLag = gauge(
    'hoststore_backup_lag_seconds',
    'How much newer the newest snapshot is than the last one pushed to the repository.',
    [...STORAGE, 'repository'],
  );
  const backupState = gauge(
    'hoststore_backup_state',
    'Off-host backup state of the storage in the repository (1 for the current state).',
    [...STORAGE, 'repository', 'state'],
  );
  const leaseHeld = gauge('hoststore_lease_held', 'The disk is leased by this service replica.', [
    ...STORAGE,
    'service',
    'replica',
  ]);
  const leaseStale = gauge('hoststore_lease_stale', "The lease's holder no longer has the disk mounted (1: stale).", [
    ...STORAGE,
    'service',
    'replica',
  ]);
  const ROOT = ['host', 'root'] as const;
  const rootSize = gauge('hoststore_root_size_bytes', 'Size of the host filesystem holding the root.', ROOT);
  const rootFree = gauge('hoststore_root_free_bytes', 'Free bytes of the host filesystem holding the root.', ROOT);
  const rootNominal = gauge(
    'hoststore_root_nominal_bytes',
    'Sum of the nominal sizes of the images on the root.',
    ROOT,
  );
  const rootAllocated = gauge('hoststore_root_allocated_bytes', 'Sum of what the storage on the root takes.', ROOT);
  const rootOvercommit = gauge(
    'hoststore_root_overcommit_ratio',
    'Nominal sizes over the host filesystem size (above 1: more promised than it holds).',
    ROOT,
  );
  const hostUp = gauge('hoststore_host_up', 'The host could be read (1) or not (0).', ['host']);

  for (const host of hosts) {
    hostUp.set({ host: host.host }, host.error === undefined ? 1 : 0);
    for (const r of host.roots) {
      const labels = { host: host.host, root: r.root };
      rootSize.set(labels, r.sizeBytes);
      rootFree.set(labels, r.freeBytes);
      rootNominal.set(labels, r.nominalBytes);
      rootAllocated.set(labels, r.allocatedBytes);
      rootOvercommit.set(labels, r.overcommit);
    }
    const key = (root: string, kind: string, project: string, storage: string) =>
      ({ host: host.host, root, kind, project, storage }) as Record<(typeof STORAGE)[number], string>;
    for (const s of host.storage) {
      const labels = key(s.root, s.kind, s.project, s.name);
      if (s.kind !== 'directory' && s.sizeGb !== undefined) size.set(labels, s.sizeGb * GiB);
      if (s.allocatedBytes !== undefined) allocated.set(labels, s.allocatedBytes);
      if (s.usage) {
        used.set(labels, s.usage.usedBytes);
        free.set(labels, s.usage.freeBytes);
      }
      mounted.set(labels, s.mounts.filter((m) => m.mounted).length);
      const snapshots = host.snapshots.filter(
        (x) => x.root === s.root && x.kind === s.kind && x.project === s.project && x.storage === s.name,
      );
      snapshotCount.set(labels, snapshots.length);
      const newest = snapshots
        .filter((x) => x.trigger !== 'safety')
        .map((x) => Date.parse(x.createdAt))
        .filter(Number.isFinite)
        .sort((a, b) => b - a)[0];
      if (newest !== undefined) snapshotAge.set(labels, Math.max(0, (now.getTime() - newest) / 1000));
    }
    for (const b of host.backups) {
      const labels = { ...key(b.root, b.kind, b.project, b.storage), repository: b.repository };
      if (b.lagSeconds !== undefined) backupLag.set(labels, b.lagSeconds);
      for (const state of BACKUP_STATES) backupState.set({ ...labels, state }, state === b.state ? 1 : 0);
    }
    for (const l of host.leases) {
      // Labelled as the disk's other series are (its project is the one that made it, which the holder's need not be).
      const disk = host.storage.find((s) => s.root === l.root && s.kind === 'disk' && s.name === l.disk);
      const project = disk?.project ?? l.project;
      const labels = { ...key(l.root, 'disk', project, l.disk), service: l.service, replica: String(l.replica) };
      leaseHeld.set(labels, 1);
      leaseStale.set(labels, l.stale ? 1 : 0);
    }
  }
  return registry.metrics();
}

/** The content type of metricsText's answer. */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
