/**
 * What `hoststore up` settles before re-mounting: in-place restores and grows that a crash or a killed
 * deploy left half done (recorded on the storage records and, for grows, by a marker beside the image
 * that Terraform checks at plan time), each finished or rolled back.
 */
import * as fs from 'node:fs';
import { growMarkerPath } from '../../src/interrupted-grow.js';
import { converge, type HandlerContext } from '../handlers/handler.js';
import { removeGrowMarker, storageHandler } from '../handlers/storage.js';
import { withRootLock } from '../registry/lock.js';
import type { StorageRecord } from '../registry/store.js';

export async function finishInterrupted(ctx: HandlerContext): Promise<void> {
  const marked = (r: StorageRecord) =>
    r.kind !== 'directory' && fs.existsSync(growMarkerPath(ctx.root, r.kind, r.project, r.name));
  const pending = () =>
    ctx.registry
      .list<StorageRecord>('storage')
      .map((e) => e.record)
      .filter((r) => r.restoring || r.growingToGb !== undefined || marked(r));
  if (pending().length === 0) return;
  await withRootLock(ctx.root, { holder: 'hoststore up (finishing interrupted work)' }, async () => {
    const locked = { ...ctx, rootLocked: true };
    const { finishInterruptedRestore } = await import('../snapshots/restore-in-place.js');
    for (const record of pending()) {
      await finishInterruptedRestore(locked, record);
      const now = ctx.registry.storage(record.kind, record.project, record.name);
      // A kill between writing the marker and recording the grow leaves only the marker, with the target.
      const marked =
        now && now.kind !== 'directory'
          ? markerTarget(growMarkerPath(ctx.root, now.kind, now.project, now.name))
          : undefined;
      const target = now?.growingToGb ?? (marked !== undefined && marked > (now?.sizeGb ?? 0) ? marked : undefined);
      if (!now || target === undefined) {
        removeGrowMarker({ ...record, root: ctx.root });
        continue;
      }
      // The grow's own spec, from the record: the storage converge finishes it (and removes the marker).
      const spec = storageHandler.validate({
        kind: now.kind,
        root: ctx.root,
        project: now.project,
        name: now.name,
        stack: now.stack,
        size_gb: String(target),
        filesystem: now.filesystem ?? '',
        shared: String(now.shared),
        removal_policy: now.removalPolicy,
        from_snapshot: '',
      });
      await converge(storageHandler, locked, spec, 'hoststore up');
    }
  });
}

/** The size a grow marker says the deploy was growing to, or undefined if it says nothing usable. */
function markerTarget(marker: string): number | undefined {
  try {
    const value = (JSON.parse(fs.readFileSync(marker, 'utf8')) as { growingToGb?: unknown }).growingToGb;
    return Number.isSafeInteger(value) && (value as number) > 0 ? (value as number) : undefined;
  } catch {
    return undefined;
  }
}
