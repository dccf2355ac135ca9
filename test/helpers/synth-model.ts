/** Synthesizes a small stack described by a model into a cdktf.out directory, in process. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, TerraformStack } from 'cdktf';
import { Disk, Mount, SnapshotPolicy, StorageProject, Volume, type StorageProjectProps } from '../../src/index.js';
import type { AppModel } from './cdktf-app.js';

/** `more`: further StorageProject props (limits, cli), e.g. for stacks larger than the default limits. */
export function synthModel(model: AppModel, more: Omit<StorageProjectProps, 'root' | 'carrier'> = {}): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-out-'));
  const app = new App({ outdir });
  const stack = new TerraformStack(app, model.stack);
  const project = new StorageProject(stack, 'app', { root: model.root, carrier: model.carrier, ...more });
  for (const s of model.storage) {
    const storage =
      s.type === 'Disk' ? new Disk(project, s.id, s.props as never) : new Volume(project, s.id, s.props as never);
    for (const { id, ...m } of s.mounts ?? []) new Mount(project, id, { storage, ...m });
    if (s.policy) {
      const { id, ...policy } = s.policy;
      new SnapshotPolicy(project, id, { storage, ...policy });
    }
  }
  app.synth();
  return outdir;
}
