/**
 * What a host's roots hold, as the dashboard shows it (HostData): read on that host, by this machine for its
 * own roots and by a storage host answering a `dashboard` read. Recorded states only: no lock, no hash, no restic.
 */
import * as fs from 'node:fs';
import type { StorageKind } from '../../src/schema.js';
import { leaseEntries, listWithSpace } from '../commands/read-data.js';
import { makeContext } from '../handlers/handler.js';
import { backupStatus, type BackupState } from '../backup/status.js';
import { listSnapshots, recordedState, snapshotLocation } from '../snapshots/snapshots.js';
import type { BackupSummary, DashboardSnapshot, HostData, StorageRow } from './api.js';

/** What `roots` hold, labelled `host`. */
export function readLocalHost(host: string, roots: readonly string[]): HostData {
  const scope = { root: roots[0], roots };
  const { entries, roots: spaces } = listWithSpace(scope);
  const leases = leaseEntries(scope);
  const snapshots: DashboardSnapshot[] = [];
  const backups: HostData['backups'][number][] = [];
  for (const root of roots) {
    const ctx = makeContext(root, { log: () => undefined });
    for (const s of listSnapshots(ctx)) {
      // Unknown without hashing it (never verified, pending, or its file changed since): shown as such.
      const state = recordedState(s, root, false) ?? 'unverified';
      snapshots.push({
        root,
        ...s,
        state,
        intact: state === 'ok',
        allocatedBytes: allocated(snapshotLocation(root, s)),
      });
    }
    for (const row of backupStatus(ctx)) backups.push({ ...row, root });
  }
  // Keyed once, so 1,000 storages with their snapshots cost a lookup each, not a scan.
  const key = (t: { root: string; kind: StorageKind; project: string }, name: string) =>
    `${t.root}\0${t.kind}\0${t.project}\0${name}`;
  const newest = new Map<string, string>();
  for (const s of snapshots) if (s.trigger !== 'safety') newest.set(key(s, s.storage), s.createdAt);
  const pushes = new Map<string, HostData['backups'][number][]>();
  for (const b of backups) pushes.set(key(b, b.storage), [...(pushes.get(key(b, b.storage)) ?? []), b]);
  const storage: StorageRow[] = entries.map((entry) => {
    const backup = worstBackup(pushes.get(key(entry, entry.name)) ?? []);
    const last = newest.get(key(entry, entry.name));
    return { ...entry, host, ...(backup ? { backup } : {}), ...(last ? { lastSnapshotAt: last } : {}) };
  });
  return { host, roots: spaces, storage, leases, snapshots, backups };
}

function allocated(file: string): number | undefined {
  try {
    return fs.statSync(file).blocks * 512;
  } catch {
    return undefined;
  }
}

const BACKUP_ORDER: readonly BackupState[] = ['failing', 'behind', 'stopped', 'in-sync'];

/** A storage's off-host state in one cell: its worst repository. */
function worstBackup(rows: HostData['backups']): BackupSummary | undefined {
  const worst = [...rows].sort((a, b) => BACKUP_ORDER.indexOf(a.state) - BACKUP_ORDER.indexOf(b.state))[0];
  if (!worst) return undefined;
  return JSON.parse(
    JSON.stringify({
      repository: worst.repository,
      state: worst.state,
      lagSeconds: worst.lagSeconds,
      lastPushedAt: worst.lastPushedAt,
      error: worst.error,
    }),
  ) as BackupSummary;
}
