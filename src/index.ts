/** cdktf-hoststore: host storage as code for CDK for Terraform. */
export { StorageProject, type StorageProjectProps, type StorageLimits, type HostProps } from './storage-project.js';
export { type HostConnection } from './host-connection.js';
export { Volume, type VolumeProps, type BlockVolumeProps, type DirectoryVolumeProps } from './volume.js';
export { Disk, type DiskProps } from './disk.js';
export { Mount, type MountProps } from './mount.js';
export {
  SnapshotPolicy,
  type SnapshotPolicyProps,
  type DailySnapshotProps,
  type HourlySnapshotProps,
} from './snapshot-policy.js';
export { StorageBase, type StorageInstance } from './storage-base.js';
export { BackupRepository, type BackupRepositoryProps, type FromBackup } from './backup-repository.js';
export { LATEST_BACKUP } from './backup-spec.js';
export {
  DEFAULT_ROOT,
  DEFAULT_MAX_VOLUMES,
  DEFAULT_MAX_VOLUME_SIZE_GB,
  DEFAULT_RETENTION_DAYS,
  DEFAULT_REMOTE_RETENTION_DAYS,
  MAX_REPLICAS,
  MAX_NAME_LENGTH,
  ABSOLUTE_MAX_SIZE_GB,
  FILESYSTEMS,
  REMOVAL_POLICIES,
  CARRIERS,
  type Filesystem,
  type RemovalPolicy,
  type Carrier,
  type StorageKind,
} from './schema.js';
