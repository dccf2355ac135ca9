/**
 * The plan's host checks about snapshots on one root: which method the root gets (reflink or sparse
 * copy) and the freeze to expect, each policy whose snapshots would freeze longer than it allows, and
 * the off-host backups' checks (backup-checks.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_MAX_FREEZE_SECONDS, imagePath } from '../../src/schema.js';
import type { HandlerContext } from '../handlers/handler.js';
import type { PolicyRecord } from '../handlers/snapshot-policy.js';
import { registryDir } from '../registry/store.js';
import { snapshotDir } from '../snapshots/snapshots.js';
import { formatSize } from '../snapshots/snapshot-space.js';
import {
  REFLINK_FREEZE_MS,
  SPARSE_COPY_BYTES_PER_SECOND,
  expectedFreezeMs,
  filesystemType,
  probeSnapshotMethod,
  seconds,
  type SnapshotMethod,
} from '../snapshots/snapshot-method.js';
import type { DesiredSpec } from './desired.js';
import { commandHint } from '../command-hint.js';
import { backupChecks } from './backup-checks.js';

export interface SnapshotCheck {
  readonly level: 'info' | 'warning' | 'error';
  readonly message: string;
}

/** The root's snapshot method: probed in a directory hoststore owns there, else guessed from the filesystem type. */
function rootMethod(root: string): { method?: SnapshotMethod; how: string } {
  for (const dir of [snapshotDir(root), registryDir(root)]) {
    const stat = fs.lstatSync(dir, { throwIfNoEntry: false });
    if (stat?.isDirectory()) {
      const method = probeSnapshotMethod(dir);
      return { method, how: `${filesystemType(dir)}, probed` };
    }
  }
  let existing = root;
  while (!fs.existsSync(existing) && existing !== '/') existing = path.dirname(existing);
  const type = filesystemType(existing);
  if (type === 'btrfs') return { method: 'reflink', how: 'btrfs' };
  if (type === 'xfs')
    return { how: 'xfs: a reflink if it was made with reflink=1, else a sparse copy; probed at the first snapshot' };
  return { method: 'sparse-copy', how: `${type} cannot reflink` };
}

export function snapshotChecks(ctx: HandlerContext, desired: readonly DesiredSpec[]): SnapshotCheck[] {
  return [...methodChecks(ctx, desired), ...backupChecks(ctx, desired)];
}

function methodChecks(ctx: HandlerContext, desired: readonly DesiredSpec[]): SnapshotCheck[] {
  const root = ctx.root;
  const policies = desired.filter((d) => d.kind === 'snapshot-policy' && d.spec.root === root).map((d) => d.spec);
  if (policies.length === 0 && ctx.registry.list<PolicyRecord>('policies').length === 0) return [];
  const { method, how } = rootMethod(root);
  const checks: SnapshotCheck[] = [];
  const freeze =
    method === 'reflink'
      ? `a mounted disk or volume freezes about ${seconds(REFLINK_FREEZE_MS)} per snapshot`
      : `a mounted disk or volume freezes about 1 s per ${formatSize(SPARSE_COPY_BYTES_PER_SECOND)} of data it holds`;
  checks.push({
    level: 'info',
    message: `snapshots on ${root}: ${method ?? 'reflink or sparse copy'} (${how}); ${freeze}`,
  });
  if (!method) return checks;
  for (const spec of policies) {
    const record = ctx.registry.storage(
      spec.storage_kind as 'disk' | 'volume' | 'directory',
      spec.project,
      spec.storage,
    );
    if (!record || record.kind === 'directory') continue;
    const bytes =
      fs.statSync(imagePath(root, record.kind, record.project, record.name), { throwIfNoEntry: false })?.blocks ?? 0;
    const expected = expectedFreezeMs(method, bytes * 512);
    const limit = spec.max_freeze_seconds ? Number(spec.max_freeze_seconds) : DEFAULT_MAX_FREEZE_SECONDS;
    if (expected <= limit * 1000) continue;
    checks.push({
      level: 'warning',
      message: `snapshot policy ${spec.policy} of ${record.kind} ${record.name}: a snapshot while it is mounted would freeze it about ${seconds(expected)} (${method} of ${formatSize(bytes * 512)}), over its maxFreezeSeconds of ${limit}: such snapshots will be refused; raise maxFreezeSeconds, put the root on a reflink-capable filesystem (${commandHint(spec.root, 'pool create --size-gb N')} makes one), or snapshot it unmounted`,
    });
  }
  return checks;
}
