/** `hoststore lease-list` and `hoststore lease break NAME`: who holds each disk, and freeing a stale hold. */
import { HoststoreError, RefusedError } from '../errors.js';
import { Registry } from '../registry/store.js';
import { withRootLock } from '../registry/lock.js';
import { leaseIsStale } from '../handlers/mount.js';
import type { GlobalOptions } from '../cli.js';
import { printJson, table } from './format.js';
import { confirm } from './confirm.js';
import { perRootText, rootsOf } from './app-roots.js';
import { leaseEntries, type LeaseEntry } from './read-data.js';
import { environmentClock } from '../clock.js';
import { recordRefusal, recordStorageEvent } from '../journal/storage-event.js';

export function leaseList(options: GlobalOptions): number {
  const entries = leaseEntries(options);
  if (options.json) printJson(entries);
  else process.stdout.write(`${leaseText(entries, rootsOf(options))}\n`);
  return 0;
}

/** The leases' text: a table per root, each under its heading when several. */
export function leaseText(entries: readonly LeaseEntry[], roots: readonly string[]): string {
  return perRootText(
    roots.map((root) => {
      const leases = entries.filter((l) => l.root === root);
      return {
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
      };
    }),
  );
}

export async function leaseBreak(disk: string, options: GlobalOptions): Promise<number> {
  return withRootLock(options.root, { holder: `hoststore lease break ${disk}` }, async () => {
    const registry = new Registry(options.root);
    const lease = registry.lease(disk);
    if (!lease) throw new HoststoreError(`disk ${disk} has no lease`);
    const holder = `${lease.project}/${lease.service} replica ${lease.replica}`;
    const journal = { root: options.root, now: environmentClock() };
    const subject = {
      kind: 'disk' as const,
      project: registry.storage('disk', lease.project, disk)?.project ?? lease.project,
      storage: disk,
    };
    const stale = leaseIsStale(options.root, lease);
    if (!stale && !options.force) {
      const reason = `disk ${disk} is leased by ${holder}, whose mount at ${lease.hostPath} is still there; unmount it first (or pass --force to break a live lease)`;
      recordRefusal(journal, subject, reason);
      throw new RefusedError(reason);
    }
    if (!options.yes) await confirm(`break ${holder}'s lease on disk ${disk}?`);
    registry.remove('leases', disk);
    recordStorageEvent(
      journal,
      subject,
      'lease-broken',
      `lease of ${holder} broken (held since ${lease.since}${stale ? ', its mount was gone' : ', forced while mounted'})`,
      { service: lease.service, replica: lease.replica, stale },
    );
    process.stdout.write(`broke ${holder}'s lease on disk ${disk} (held since ${lease.since})\n`);
    return 0;
  });
}
