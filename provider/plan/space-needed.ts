/**
 * What an apply will newly write on a root's filesystem, estimated from the plan's items: data that already
 * exists needs no new space; new images' metadata (mkfs), copies of snapshots, restores of backups and grows'
 * metadata do.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HandlerContext } from '../handlers/handler.js';
import type { PlanItem } from './plan.js';
import { snapshotLocation, type SnapshotRecord } from '../snapshots/snapshots.js';
import { storageHandler } from '../handlers/storage.js';
import { lookUpBackupSync, type BackupTarget } from '../handlers/backup-source.js';

const MiB = 1024 ** 2;

/**
 * Bytes mkfs writes into a new sparse image of `sizeGb` (measured here: ext4 with lazy init ~0.4 MiB/GiB,
 * xfs zeroes a log of 64 MiB or more before hoststore punches it out again, btrfs ~5 MiB), rounded up.
 */
export function mkfsBytes(filesystem: string, sizeGb: number): number {
  switch (filesystem) {
    case 'ext4':
      return 1 * MiB + sizeGb * 0.5 * MiB;
    case 'xfs':
      return Math.min(2048 * MiB, Math.max(65 * MiB, sizeGb * 0.55 * MiB));
    case 'btrfs':
      return 8 * MiB;
    default:
      return 0;
  }
}

function allocatedBytes(target: string): number {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(target);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.blocks * 512;
  return fs.readdirSync(target).reduce((sum, name) => sum + allocatedBytes(path.join(target, name)), stat.blocks * 512);
}

export interface SpaceNeeded {
  readonly bytes: number;
  /** What writes it, for the message: `new disk logs 65.0 MiB`. */
  readonly parts: string[];
}

/** New bytes the storage items of `items` on `ctx.root` will write. */
export function spaceNeeded(ctx: HandlerContext, items: readonly PlanItem[]): SpaceNeeded {
  const parts: string[] = [];
  let bytes = 0;
  const add = (what: string, n: number) => {
    if (n <= 0) return;
    bytes += n;
    parts.push(`${what} ${(n / MiB).toFixed(1)} MiB`);
  };
  for (const item of items) {
    const spec = item.spec;
    if (item.kind !== 'storage' || !spec || spec.root !== ctx.root) continue;
    if (item.action === 'create') {
      if (spec.from_snapshot) {
        // Where the layout puts it, never the path the record holds (the registry may be forged).
        const snapshot = ctx.registry.get<SnapshotRecord>('snapshots', spec.from_snapshot);
        add(
          `copy of snapshot ${spec.from_snapshot} for ${spec.kind} ${spec.name}`,
          snapshot ? allocatedBytes(snapshotLocation(ctx.root, snapshot)) : 0,
        );
      } else if (spec.from_backup) {
        // The data the restore writes (its holes stay holes), as the plan's diff found the backup.
        const target = storageHandler.validate(spec) as BackupTarget;
        const source = target.from_backup ? lookUpBackupSync(ctx, target) : undefined;
        if (source?.state === 'found')
          add(
            `restore of backup ${source.entry.shortId} for ${spec.kind} ${spec.name}`,
            source.dataBytes ?? source.entry.size,
          );
        else if (source?.state === 'none')
          add(`new ${spec.kind} ${spec.name}`, mkfsBytes(spec.filesystem, Number(spec.size_gb || 0)));
      } else {
        add(`new ${spec.kind} ${spec.name}`, mkfsBytes(spec.filesystem, Number(spec.size_gb || 0)));
      }
      continue;
    }
    const grow = item.changes.find(
      (c) => c.field === 'size_gb' && c.safety !== 'refused' && Number(c.to) > Number(c.from),
    );
    // A grow writes the new block groups' (allocation groups') headers, not a new log: about 0.5 MiB a GiB.
    if (grow) add(`grow of ${spec.kind} ${spec.name}`, (Number(grow.to) - Number(grow.from)) * 0.5 * MiB);
  }
  return { bytes, parts };
}
