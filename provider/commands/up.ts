/**
 * `hoststore up`: after a reboot loop devices and mounts are gone; re-attach and re-mount everything the
 * registry says is mounted. Idempotent: a converged host is left as it is.
 */
import { replicaHostPath } from '../../src/schema.js';
import { Registry } from '../registry/store.js';
import { converge, makeContext } from '../handlers/handler.js';
import { mountHandler } from '../handlers/mount.js';
import type { GlobalOptions } from '../cli.js';

export async function up(options: GlobalOptions): Promise<number> {
  const ctx = makeContext(options.root);
  const records = new Registry(options.root).mounts();
  let failed = 0;
  for (const m of records) {
    const spec = mountHandler.validate({
      root: options.root, project: m.project, stack: m.stack, storage: m.storage, storage_kind: m.storageKind,
      service: m.service, replica: String(m.replica), mount_path: m.mountPath,
      host_path: replicaHostPath(options.root, m.project, m.service, m.replica, m.mountPath), read_only: String(m.readOnly),
    });
    try {
      const diff = await converge(mountHandler, ctx, spec, 'hoststore up');
      if (diff.action === 'none') ctx.log(`${m.storage}: already mounted for ${m.project}/${m.service} replica ${m.replica}`);
    } catch (error) {
      failed += 1;
      process.stderr.write(`hoststore up: ${m.storage} for ${m.project}/${m.service} replica ${m.replica}: ${(error as Error).message}\n`);
    }
  }
  process.stdout.write(`up: ${records.length - failed} of ${records.length} mounts in place\n`);
  return failed === 0 ? 0 : 1;
}
