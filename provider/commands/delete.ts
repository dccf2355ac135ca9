/** `hoststore delete NAME`: the one way to delete a storage's data by hand (never automatic). */
import * as fs from 'node:fs';
import { RefusedError } from '../errors.js';
import { Registry, mountKey } from '../registry/store.js';
import { withRootLock } from '../registry/lock.js';
import { inventory } from '../inventory.js';
import { readMountTable, unmount } from '../host/mounts.js';
import { unmountImage } from '../handlers/block-device.js';
import type { GlobalOptions } from '../cli.js';
import { findItem } from './list.js';
import { confirm } from './confirm.js';
import { recordedHostPath } from '../host/root-trust.js';

export async function deleteStorage(name: string, options: GlobalOptions): Promise<number> {
  return withRootLock(options.root, { holder: `hoststore delete ${name}` }, async () => {
    const item = findItem(inventory(options.root), name, options);
    const users = item.mounts.map((m) => `${m.project}/${m.service} replica ${m.replica} at ${m.hostPath}`);
    if ((users.length > 0 || item.lease) && !options.force) {
      const why = users.length > 0 ? `mounted by ${users.join(', ')}` : `leased by ${item.lease?.project}/${item.lease?.service}`;
      throw new RefusedError(`${item.kind} ${name} is ${why}; remove its Mounts first, or pass --force to unmount and delete`);
    }
    if (!options.yes) await confirm(`delete ${item.kind} ${name} and all its data at ${item.path}?`);
    const registry = new Registry(options.root);
    for (const m of item.mounts) {
      // The host path the layout gives this mount, never the one its record carries.
      const hostPath = recordedHostPath(options.root, m);
      while (readMountTable().some((e) => e.target === hostPath)) await unmount(hostPath);
      registry.remove('mounts', mountKey(m.project, m.service, m.replica, m.mountPath));
    }
    if (item.lease) registry.remove('leases', name);
    if (item.kind !== 'directory') await unmountImage(item.path);
    fs.rmSync(item.path, { recursive: true, force: true });
    if (item.state !== 'unmanaged') registry.removeStorage(item.kind, item.project, name);
    process.stdout.write(`deleted ${item.kind} ${name} (${item.path})\n`);
    return 0;
  });
}
