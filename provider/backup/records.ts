/**
 * What the host records about off-host backups: each BackupRepository a spec named (collection
 * `repositories`, so `--repository NAME` finds it) and, per replicated storage and repository, how its
 * pushes went (collection `backups`, what `backup status` and the plan's checks read). Never a secret:
 * only the paths of the files that hold them.
 */
import type { StorageKind } from '../../src/schema.js';
import type { BackupRepositoryWire } from '../../src/backup-spec.js';
import { storageKey } from '../registry/keys.js';

export interface RepositoryRecord {
  readonly project: string;
  /** The BackupRepository's name in its project. */
  readonly name: string;
  readonly url: string;
  readonly passwordFile: string;
  readonly environmentFile?: string;
  readonly options?: Readonly<Record<string, string>>;
  readonly updatedAt: string;
}

/** One replicated storage's pushes to one repository. */
export interface PushRecord {
  readonly storageKind: StorageKind;
  readonly project: string;
  readonly storage: string;
  /** The repository's name (its record: `repositoryKey(project, repository)`). */
  readonly repository: string;
  /** The URL the last attempt used (a changed URL starts over: nothing is pushed there yet). */
  readonly url: string;
  /** The newest local snapshot pushed, its restic snapshot id, when, and what restic reported. */
  readonly lastPushedSnapshot?: string;
  /** When that local snapshot was taken (it may be pruned locally since): the lag is counted from it. */
  readonly lastPushedSnapshotAt?: string;
  readonly lastBackupId?: string;
  readonly lastPushedAt?: string;
  readonly bytesAdded?: number;
  readonly bytesProcessed?: number;
  /** The last attempt, and its error when it failed (cleared by the next success). */
  readonly lastAttemptAt?: string;
  readonly lastError?: string;
  /** When the policy that pushed it stopped (removed, or replicating elsewhere): `backup status` says `stopped`. */
  readonly stoppedAt?: string;
  /**
   * The last pushes' restic ids and what each added (newest last, at most PUSH_HISTORY): restic 0.14 keeps
   * no per-snapshot statistics, so `backup list` shows data added from here for backups this host pushed.
   */
  readonly pushes?: ReadonlyArray<{
    readonly backupId: string;
    readonly snapshot: string;
    readonly bytesAdded: number;
  }>;
}

export const PUSH_HISTORY = 100;

export const REPOSITORIES = 'repositories' as const;
export const BACKUPS = 'backups' as const;

/** `<project>_<name>` (names never contain `_`). */
export function repositoryKey(project: string, name: string): string {
  return `${project}_${name}`;
}

/** `<storage key>_<project>_<repository>`: one record per storage and repository it is pushed to. */
export function pushKey(kind: StorageKind, project: string, storage: string, repository: string): string {
  return `${storageKey(kind, project, storage)}_${project}_${repository}`;
}

/** The record a spec's repository is kept as on the host. */
export function repositoryRecord(project: string, wire: BackupRepositoryWire, now: Date): RepositoryRecord {
  return {
    project,
    name: wire.name,
    url: wire.url,
    passwordFile: wire.password_file,
    ...(wire.environment_file === undefined ? {} : { environmentFile: wire.environment_file }),
    ...(wire.options === undefined ? {} : { options: wire.options }),
    updatedAt: now.toISOString(),
  };
}
