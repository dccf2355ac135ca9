/**
 * CONTRACT (issue 14): the shapes the dashboard's JSON API answers with, shared by the data layer
 * (./data.ts), the server (./server.ts), its pages and `hoststore list|status --json`. Each view's API is
 * shaped like the CLI's --json for the same thing; these are the parts the CLI had no --json for.
 */
import type { StorageKind } from '../../src/schema.js';
import type { BackupState, BackupStatusRow } from '../backup/status.js';
import type { LeaseEntry, ListEntry, SnapshotEntry } from '../commands/read-data.js';
import type { SnapshotState } from '../snapshots/snapshots.js';

/** How full a filesystem is inside its image: from statfs of its mount point, or its superblock when unmounted. */
export interface FilesystemUsage {
  readonly sizeBytes: number;
  readonly usedBytes: number;
  readonly freeBytes: number;
  readonly source: 'mounted' | 'superblock';
}

/** A root's capacity: the host filesystem under it, and what the storage on it promises and uses. */
export interface RootSpace {
  readonly root: string;
  /** The host filesystem holding the root (statfs). */
  readonly sizeBytes: number;
  readonly freeBytes: number;
  /** Sum of the nominal sizes of its images. */
  readonly nominalBytes: number;
  /** Sum of what its images and directory volumes really take on the host. */
  readonly allocatedBytes: number;
  /** Thin-provisioning ratio: nominalBytes / sizeBytes (above 1: more promised than the host holds). */
  readonly overcommit: number;
  readonly storageCount: number;
}

export type AttentionKind =
  | 'host-unreachable'
  | 'root-low-space'
  | 'storage-missing'
  | 'filesystem-full'
  | 'mount-missing'
  | 'lease-stale'
  | 'snapshot-unverified'
  | 'snapshot-changed'
  | 'backup-failing'
  | 'backup-behind'
  | 'drift';

/** Something a person should look at, most serious first. */
export interface AttentionItem {
  readonly severity: 'error' | 'warning';
  readonly what: AttentionKind;
  readonly host: string;
  readonly root?: string;
  readonly kind?: StorageKind;
  readonly project?: string;
  readonly storage?: string;
  /** One line: what, where and what to do. */
  readonly message: string;
}

export interface HostOverview {
  /** `local`, or the host's address as the app names it. */
  readonly host: string;
  /** Set when the host could not be read (its roots are then empty). */
  readonly error?: string;
  readonly roots: readonly RootSpace[];
}

/** GET /api/overview */
export interface OverviewData {
  readonly generatedAt: string;
  readonly hosts: readonly HostOverview[];
  readonly attention: readonly AttentionItem[];
}

/** A storage's off-host state in the storage table (from `backup status`; the worst of its repositories). */
export interface BackupSummary {
  readonly repository: string;
  readonly state: BackupState;
  readonly lagSeconds?: number;
  readonly lastPushedAt?: string;
  readonly error?: string;
}

/** A row of the storage table (GET /api/storage): `hoststore list --json`'s entry, with its host and off-host state. */
export type StorageRow = ListEntry & {
  /** `local`, or the remote host's address. */
  readonly host: string;
  readonly backup?: BackupSummary;
  /** The newest snapshot's time (safety snapshots aside). */
  readonly lastSnapshotAt?: string;
};

/**
 * A snapshot as the dashboard shows it: its RECORDED state, or `unverified` where only a hash could tell
 * (never verified, its checksum pending, or its file changed since): the dashboard never hashes.
 */
export type DashboardSnapshot = Omit<SnapshotEntry, 'state'> & { readonly state: SnapshotState | 'unverified' };

/**
 * Everything the dashboard reads from one host in one go (a remote host answers it as one `read` request):
 * the views, the attention items and /metrics are all computed from these.
 */
export interface HostData {
  readonly host: string;
  /** Set when the host could not be read; everything else is then empty. */
  readonly error?: string;
  readonly roots: readonly RootSpace[];
  readonly storage: readonly StorageRow[];
  readonly leases: readonly LeaseEntry[];
  /** Snapshots with their RECORDED state only: the dashboard never hashes a file or takes a lock. */
  readonly snapshots: readonly DashboardSnapshot[];
  readonly backups: readonly (BackupStatusRow & { readonly root: string })[];
}
