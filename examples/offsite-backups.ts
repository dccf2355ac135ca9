/**
 * Storage that outlives its host: the shop's database disk snapshotted nightly and each snapshot pushed to an
 * off-host restic repository; deployed onto a host that does not have the disk, it comes up from the newest backup.
 */
import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { BackupRepository, Disk, Mount, SnapshotPolicy, StorageProject } from '../src/index.js';

/** Where the backups go and the host files that open the repository (on every host that deploys the stack). */
export interface OffsiteRepository {
  /** Any restic repository URL. */
  readonly repository: string;
  /** On the host: the repository's password, root-owned, mode 0600. */
  readonly passwordFile: string;
  /** On the host: credentials restic reads as its environment (s3: and the like). */
  readonly environmentFile?: string;
  /** restic's `-o` options (for example `sftp.command`). */
  readonly options?: Record<string, string>;
}

export const EXAMPLE_REPOSITORY: OffsiteRepository = {
  repository: 'sftp:backup@backup-1.internal:/srv/hoststore',
  passwordFile: '/etc/hoststore/offsite.pass',
};

export interface OffsiteBackupsOptions {
  /** The StorageProject's root on the host. @default '/var/lib/hoststore' */
  readonly root?: string;
  readonly repository?: OffsiteRepository;
  /** The database disk's size. @default 20 */
  readonly sizeGb?: number;
}

export function offsiteBackupsStack(scope: Construct, id: string, options: OffsiteBackupsOptions = {}): TerraformStack {
  const stack = new TerraformStack(scope, id);
  const project = new StorageProject(stack, 'shop', { root: options.root });
  const offsite = new BackupRepository(project, 'offsite', options.repository ?? EXAMPLE_REPOSITORY);

  // On a host without it (a new host after the old one was lost), the disk is made from its newest backup;
  // once it exists, fromBackup is ignored.
  const pg = new Disk(project, 'postgres', {
    name: 'shop-postgres',
    sizeGb: options.sizeGb ?? 20,
    filesystem: 'ext4',
    fromBackup: { repository: offsite },
  });
  new Mount(project, 'postgres-mount', { storage: pg, service: 'db', mountPath: '/var/lib/postgresql/data' });
  // Each snapshot run-due takes is then pushed to the repository; there they are kept 90 days.
  new SnapshotPolicy(project, 'nightly', {
    storage: pg,
    schedule: '0 4 * * *',
    retentionDays: 7,
    replicateTo: offsite,
    remoteRetentionDays: 90,
  });
  return stack;
}
