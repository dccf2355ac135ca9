/**
 * A root's capacity: the host filesystem under it (statfs) beside what the storage on it promises
 * (nominal sizes) and really takes (allocated blocks), and the thin-provisioning ratio of the two.
 */
import * as fs from 'node:fs';
import type { RootSpace } from '../dashboard/api.js';
import type { InventoryItem } from '../inventory.js';
import { GiB } from './image.js';

/** The space of `root` for its `items` (as inventory() lists them; directory volumes promise no size). */
export function rootSpace(root: string, items: readonly InventoryItem[]): RootSpace {
  const s = fs.statfsSync(root);
  const sizeBytes = s.blocks * s.bsize;
  let nominalBytes = 0;
  let allocatedBytes = 0;
  for (const item of items) {
    if (item.kind !== 'directory' && item.sizeGb !== undefined) nominalBytes += item.sizeGb * GiB;
    allocatedBytes += item.allocatedBytes ?? 0;
  }
  return {
    root,
    sizeBytes,
    // As df's "Avail": the filesystem's root reserve is left out, so the figure errs on the low side.
    freeBytes: s.bavail * s.bsize,
    nominalBytes,
    allocatedBytes,
    overcommit: sizeBytes > 0 ? nominalBytes / sizeBytes : 0,
    storageCount: items.length,
  };
}
