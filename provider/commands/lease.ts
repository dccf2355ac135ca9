/** `hoststore lease-list` and `hoststore lease break NAME`: who holds each disk, and freeing a stale hold. */
import { HoststoreError, RefusedError } from '../errors.js';
import { Registry, type LeaseRecord } from '../registry/store.js';
import { withRootLock } from '../registry/lock.js';
import { leaseIsStale } from '../handlers/mount.js';
import type { GlobalOptions } from '../cli.js';
import { printJson, table } from './format.js';
import { confirm } from './confirm.js';
import { printPerRoot, rootsOf } from './app-roots.js';
import { checkRootTrust } from '../host/root-trust.js';

export function leaseList(options: GlobalOptions): number {
  const perRoot = rootsOf(options).map((root) => {
    // A read opens the registry: the same check as before a change.
    checkRootTrust(root);
    return {
      root,
      leases: new Registry(root)
        .list<LeaseRecord>('leases')
        .map(({ record }) => ({ ...record, stale: leaseIsStale(root, record) })),
    };
  });
  if (options.json) {
    printJson(perRoot.flatMap(({ root, leases }) => leases.map((l) => ({ root, ...l }))));
    return 0;
  }
  printPerRoot(
    perRoot.map(({ root, leases }) => ({
      root,
      text:
        leases.length === 0
          ? 'no disk leases'
          : table(
              ['DISK', 'HOLDER', 'REPLICA', 'SINCE', 'STATE', 'HOST PATH'],
              leases.map((l) => [
                l.disk,
                `${l.project}/${l.service}`,
                String(l.replica),
                l.since,
                l.stale ? 'stale' : 'held',
                l.hostPath,
              ]),
            ),
    })),
  );
  return 0;
}

export async function leaseBreak(disk: string, options: GlobalOptions): Promise<number> {
  return withRootLock(options.root, { holder: `hoststore lease break ${disk}` }, async () => {
    const registry = new Registry(options.root);
    const lease = registry.lease(disk);
    if (!lease) throw new HoststoreError(`disk ${disk} has no lease`);
    const holder = `${lease.project}/${lease.service} replica ${lease.replica}`;
    if (!leaseIsStale(options.root, lease) && !options.force) {
      throw new RefusedError(
        `disk ${disk} is leased by ${holder}, whose mount at ${lease.hostPath} is still there; unmount it first (or pass --force to break a live lease)`,
      );
    }
    if (!options.yes) await confirm(`break ${holder}'s lease on disk ${disk}?`);
    registry.remove('leases', disk);
    process.stdout.write(`broke ${holder}'s lease on disk ${disk} (held since ${lease.since})\n`);
    return 0;
  });
}
