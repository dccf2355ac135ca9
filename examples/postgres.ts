/** The disk service's examples: Postgres on an exclusive ext4 disk, and file uploads on an xfs disk. */
import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { Disk, Mount, StorageProject } from '../src/index.js';

export function postgresStack(scope: Construct, id: string, root?: string): TerraformStack {
  const stack = new TerraformStack(scope, id);
  const project = new StorageProject(stack, 'myapp', { root });

  const pg = new Disk(project, 'postgres', { name: 'myapp-postgres', sizeGb: 20, filesystem: 'ext4' });
  new Mount(project, 'postgres-mount', { storage: pg, service: 'db', mountPath: '/var/lib/postgresql/data' });

  const uploads = new Disk(project, 'uploads', { name: 'myapp-uploads', sizeGb: 50, filesystem: 'xfs' });
  new Mount(project, 'uploads-mount', { storage: uploads, service: 'web', mountPath: '/app/uploads' });
  return stack;
}
