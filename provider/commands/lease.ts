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
