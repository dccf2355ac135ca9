/**
 * The volume service's web app: a SQLite volume snapshotted nightly, model weights shared read-only by
 * three replicas, and local shared storage for uploads.
 */
import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { Mount, SnapshotPolicy, StorageProject, Volume } from '../src/index.js';

export function webAppStack(scope: Construct, id: string, root?: string): TerraformStack {
  const stack = new TerraformStack(scope, id);
  const project = new StorageProject(stack, 'webapp', { root });

  const db = new Volume(project, 'sqlite', { sizeGb: 10 });
  new Mount(project, 'sqlite-mount', { storage: db, service: 'web', mountPath: '/var/lib/app' });
  new SnapshotPolicy(project, 'nightly', { storage: db, schedule: '0 4 * * *', retentionDays: 7 });

  const models = new Volume(project, 'models', { sizeGb: 20, shared: true });
  new Mount(project, 'models-mount', {
    storage: models,
    service: 'inference',
    mountPath: '/var/models',
    replicas: 3,
    readOnly: true,
  });

  const uploads = new Volume(project, 'uploads', { type: 'directory' });
  new Mount(project, 'uploads-mount', { storage: uploads, service: 'web', mountPath: '/app/uploads' });
  return stack;
}
