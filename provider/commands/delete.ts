/** `hoststore delete NAME`: the one way to delete a storage's data by hand (never automatic). */
import { RefusedError } from '../errors.js';
import { Registry, mountKey } from '../registry/store.js';
import { withRootLock } from '../registry/lock.js';
import { inventory, type InventoryItem } from '../inventory.js';
import { readMountTable, unmount } from '../host/mounts.js';
import { unmountImage } from '../handlers/block-device.js';
import type { GlobalOptions } from '../cli.js';
import { findItem } from './list.js';
import { confirm } from './confirm.js';
import { recordedHostPath } from '../host/root-trust.js';
import { removeTree } from '../host/remove-tree.js';
import { commandHint } from '../command-hint.js';
import { makeContext } from '../handlers/handler.js';
import { snapshotPolicyHandler, type PolicyRecord } from '../handlers/snapshot-policy.js';
import { recordRefusal, recordStorageEvent, type EventSubject } from '../journal/storage-event.js';

/**
 * Why a storage cannot be deleted yet, and the way out: who really has it mounted now, which mount
 * records remain whose mount is gone (the Mount is still declared somewhere, or was never removed), and
 * who holds its lease.
 */
function usersOf(item: InventoryItem, root: string): string {
  const who = (m: InventoryItem['mounts'][number]) => `${m.project}/${m.service} replica ${m.replica} at ${m.hostPath}`;
  const mounted = item.mounts.filter((m) => m.mounted);
  const recorded = item.mounts.filter((m) => !m.mounted);
  const reasons = [
    ...(mounted.length ? [`is mounted by ${mounted.map(who).join(', ')}`] : []),
    ...(recorded.length ? [`is recorded as mounted by ${recorded.map(who).join(', ')} (not mounted now)`] : []),
    ...(item.lease && item.mounts.length === 0 ? [`is leased by ${item.lease.project}/${item.lease.service}`] : []),
  ];
  const way = mounted.length
    ? 'remove its Mounts first, or pass --force to unmount and delete'
    : recorded.length
      ? 'remove those Mounts from the code and apply first, or pass --force to forget the records and delete'
      : `break the lease (${commandHint(root, `lease break ${item.name}`)}) first, or pass --force to delete`;
  return `${reasons.join(' and ')}; ${way}`;
}

export async function deleteStorage(name: string, options: GlobalOptions): Promise<number> {
  return withRootLock(options.root, { holder: `hoststore delete ${name}` }, async () => {
    const item = findItem(inventory(options.root), name, options);
    const ctx = makeContext(options.root, { rootLocked: true });
    const subject: EventSubject = { kind: item.kind, project: item.project, storage: name };
    if ((item.mounts.length > 0 || item.lease) && !options.force) {
      const reason = `${item.kind} ${name} ${usersOf(item, options.root)}`;
      recordRefusal(ctx, subject, reason);
      throw new RefusedError(reason);
    }
    if (!options.yes) await confirm(`delete ${item.kind} ${name} and all its data at ${item.path}?`);
    const registry = new Registry(options.root);
    for (const m of item.mounts) {
      // The host path the layout gives this mount, never the one its record carries.
      const hostPath = recordedHostPath(options.root, m);
      while (readMountTable().some((e) => e.target === hostPath)) await unmount(hostPath);
      registry.remove('mounts', mountKey(m.project, m.service, m.replica, m.mountPath));
      recordStorageEvent(
        ctx,
        subject,
        'unmounted',
        `unmounted from ${m.project}/${m.service} replica ${m.replica} at ${hostPath} (delete --force)`,
        {
          service: m.service,
          replica: m.replica,
          readOnly: m.readOnly,
          hostPath,
        },
      );
    }
    if (item.lease) {
      registry.remove('leases', name);
      recordStorageEvent(
        ctx,
        subject,
        'lease-broken',
        `lease of ${item.lease.project}/${item.lease.service} replica ${item.lease.replica} broken (delete --force)`,
        {
          service: item.lease.service,
          replica: item.lease.replica,
        },
      );
    }
    if (item.kind !== 'directory') await unmountImage(item.path);
    await removeTree(item.path);
    if (item.state !== 'unmanaged') registry.removeStorage(item.kind, item.project, name);
    // Its snapshot policies go with it: left behind, their cron entries would run every minute for nothing
    // (and resume on a later storage of this name). No other command removes a policy by hand, and a project
    // moved to another host leaves its policies on the old one, where this is the way to clean up.
    for (const { record: p } of registry.list<PolicyRecord>('policies'))
      if (p.storage === name && p.storageKind === item.kind && (item.kind === 'disk' || p.project === item.project))
        await snapshotPolicyHandler.delete(ctx, {
          root: options.root,
          project: p.project,
          policy: p.policy,
          storage: p.storage,
          storage_kind: p.storageKind,
        });
    recordStorageEvent(ctx, subject, 'deleted', `deleted with its data by hand (${item.path})`, { path: item.path });
    process.stdout.write(`deleted ${item.kind} ${name} (${item.path})\n`);
    return 0;
  });
}
