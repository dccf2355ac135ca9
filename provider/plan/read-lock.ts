/**
 * A plan reads a root only while no other process changes it: it holds each root's lock for the read
 * (waiting a bounded time, naming the holder), so it never shows a half-applied state as drift to repair.
 */
import * as fs from 'node:fs';
import { registryDir } from '../registry/store.js';
import { withRootLock, type LockHolder } from '../registry/lock.js';
import { assertPoolMounted } from '../host/pool-guard.js';

/**
 * Runs `read` holding the lock of every root in `roots` (in a fixed order, as apply takes them). A root
 * with no registry yet has nothing to read, and a plan creates nothing, so it is not locked. Each wait is
 * reported through `report`, naming the holder.
 */
export async function withReadLocks<T>(
  roots: readonly string[],
  read: () => T,
  report: (line: string) => void,
): Promise<T> {
  // A root whose pool is not mounted (after a reboot, before `hoststore up`) is a bare directory: planned
  // as it is, everything would show as new.
  for (const root of new Set(roots)) assertPoolMounted(root);
  const existing = [...new Set(roots)].sort().filter((root) => fs.existsSync(registryDir(root)));
  const locked = existing.reduceRight<() => Promise<T>>(
    (inner, root) => async () => {
      const started = Date.now();
      let holder: LockHolder | undefined;
      let waited = false;
      let entered = false;
      try {
        return await withRootLock(
          root,
          { holder: 'hoststore plan (reading)', onWait: (h) => ((waited = true), (holder = h)) },
          async () => {
            entered = true;
            if (waited) {
              const who = holder ? `${holder.holder} (pid ${holder.pid}, since ${holder.since})` : 'another process';
              report(
                `waited ${((Date.now() - started) / 1000).toFixed(1)} s for ${root}, locked by ${who}; planned once it was released`,
              );
            }
            return inner();
          },
        );
      } catch (error) {
        // Not allowed to make the lock file (a plan by a user who cannot write the root): read without it, and say so.
        const code = (error as NodeJS.ErrnoException).code;
        if (entered || (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS')) throw error;
        report(
          `could not take the lock of ${root} to read it (${code}); if another process is changing it now, this plan may show its changes half done`,
        );
        return inner();
      }
    },
    async () => read(),
  );
  return locked();
}
