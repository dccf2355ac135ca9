/**
 * What `hoststore up` settles before re-mounting: in-place restores and grows that a crash or a killed
 * deploy left half done (recorded on the storage records), each finished or rolled back.
 */
import type { HandlerContext } from '../handlers/handler.js';
import { withRootLock } from '../registry/lock.js';
import type { StorageRecord } from '../registry/store.js';

export async function finishInterrupted(ctx: HandlerContext): Promise<void> {
  const pending = () => ctx.registry.list<StorageRecord>('storage').map((e) => e.record).filter((r) => r.restoring);
  if (pending().length === 0) return;
  await withRootLock(ctx.root, { holder: 'hoststore up (finishing interrupted work)' }, async () => {
    const { finishInterruptedRestore } = await import('../snapshots/restore-in-place.js');
    for (const record of pending()) finishInterruptedRestore(ctx, record);
  });
}
