/**
 * `hoststore snapshot create | list | restore | delete`: taking a snapshot by hand, seeing which are
 * intact, and getting data back, into a new storage or in place (after a safety snapshot).
 */
import * as fs from 'node:fs';
import { maxFreezeSecondsRule, nameRule } from '../../src/schema.js';
import { HoststoreError, RefusedError, SpecError, UsageError } from '../errors.js';
import { converge, makeContext } from '../handlers/handler.js';
import { mountHandler, mountSpecFromRecord } from '../handlers/mount.js';
import { storagePath } from '../handlers/storage.js';
import { unmountImage } from '../handlers/block-device.js';
import { readFilesystemSignature } from '../host/fs-signature.js';
import { readMountTable, unmount } from '../host/mounts.js';
import { withRootLock } from '../registry/lock.js';
import type { StorageRecord } from '../registry/store.js';
import { inventory } from '../inventory.js';
import { pruneAll, runDue } from '../snapshots/run-due.js';
import {
  deleteSnapshot,
  getSnapshot,
  restoreCopy,
  subjectOfSnapshot,
  takeSnapshot,
  verifySnapshot,
  type SnapshotOptions as TakeSnapshotOptions,
} from '../snapshots/snapshots.js';
import { recordedHostPath, recordedStoragePath } from '../host/root-trust.js';
import { perRootText, rootsOf } from './app-roots.js';
import { snapshotEntries, type SnapshotEntry } from './read-data.js';
import type { GlobalOptions } from '../cli.js';
import { findItem } from './list.js';
import { formatBytes, printJson, table } from './format.js';
import { adoptHint } from './adopt-hint.js';
import { recordRefusal, recordStorageEvent } from '../journal/storage-event.js';

export interface SnapshotOptions extends GlobalOptions {
  readonly to?: string;
  readonly inPlace: boolean;
  readonly dryRun: boolean;
  /** `snapshot list --verify`: hash every snapshot again, not only those whose file changed since verified. */
  readonly verify?: boolean;
  /** `--max-freeze-seconds`, as typed (checked here, for `snapshot create` only). */
  readonly maxFreezeSeconds?: string;
  /** Where progress lines go (the CLI's progress display); default stdout, or stderr with --json. */
  readonly log?: (line: string) => void;
  /** How far a long snapshot is, for `snapshot create`. */
  readonly onProgress?: TakeSnapshotOptions['onProgress'];
}

/** The freeze bound of `snapshot create`: the option's value checked by the construct's rule, else the default. */
function maxFreezeSeconds(options: SnapshotOptions, verb: string | undefined): number | undefined {
  if (options.maxFreezeSeconds === undefined) return undefined;
  if (verb !== 'create')
    throw new UsageError(`--max-freeze-seconds applies to hoststore snapshot create only (got snapshot ${verb ?? ''})`);
  const value = /^[0-9]+(\.[0-9]+)?$/.test(options.maxFreezeSeconds) ? Number(options.maxFreezeSeconds) : Number.NaN;
  const problem = maxFreezeSecondsRule(value);
  if (problem)
    throw new UsageError(
      `--max-freeze-seconds ${problem} (got ${JSON.stringify(options.maxFreezeSeconds)}); for example --max-freeze-seconds 30`,
    );
  return value;
}

function storageRecord(options: GlobalOptions, name: string): StorageRecord {
  const item = findItem(inventory(options.root), name, options);
  const record = makeContext(options.root).registry.storage(item.kind, item.project, item.name);
  if (!record) throw new HoststoreError(`${item.kind} ${name} is not managed by hoststore (state ${item.state})`);
  return record;
}

export async function snapshot(args: string[], options: SnapshotOptions): Promise<number> {
  const [verb, target] = args;
  const freezeLimit = maxFreezeSeconds(options, verb);
  // With --json, stdout carries only the JSON; progress lines go to stderr.
  const ctx = makeContext(
    options.root,
    options.log ? { log: options.log } : options.json ? { log: (line) => process.stderr.write(`${line}\n`) } : {},
  );
  const locked = <T>(what: string, fn: () => Promise<T>) =>
    withRootLock(options.root, { holder: `hoststore snapshot ${what}` }, fn);
  switch (verb) {
    case 'create': {
      if (!target) throw new UsageError('usage: hoststore snapshot create NAME');
      const record = await locked(`create ${target}`, () =>
        takeSnapshot(ctx, storageRecord(options, target), 'manual', undefined, {
          maxFreezeSeconds: freezeLimit,
          onProgress: options.onProgress,
        }),
      );
      if (options.json) printJson(record);
      return 0;
    }
    case 'list': {
      const entries = await snapshotEntries(
        options,
        target,
        options.verify ?? false,
        options.log ??
          (options.json ? (line) => process.stderr.write(`${line}\n`) : (line) => process.stdout.write(`${line}\n`)),
      );
      const code = entries.every((s) => s.intact) ? 0 : 1;
      if (options.json) printJson(entries);
      else process.stdout.write(`${snapshotText(entries, rootsOf(options))}\n`);
      return code;
    }
    case 'delete': {
      if (!target) throw new UsageError('usage: hoststore snapshot delete ID');
      await locked(`delete ${target}`, async () => {
        if (options.force) ctx.registry.put('snapshots', target, { ...getSnapshot(ctx, target), final: false });
        await deleteSnapshot(ctx, target);
      });
      process.stdout.write(`deleted snapshot ${target}\n`);
      return 0;
    }
    case 'restore':
      if (!target) throw new UsageError('usage: hoststore snapshot restore ID (--to NEW_NAME | --in-place)');
      if (options.to && !options.inPlace)
        return locked(`restore ${target}`, () => restoreTo(options, target, options.to as string));
      if (options.inPlace && !options.to) return restoreInPlace(options, target);
      throw new UsageError('hoststore snapshot restore ID needs exactly one of --to NEW_NAME or --in-place');
    case 'run-due': {
      const report = await runDue(ctx);
      if (options.json) printJson(report);
      else
        process.stdout.write(
          `run-due: ${report.taken.length} taken${report.taken.map((s) => ` ${s.id}`).join('')}, ${report.pruned.length} pruned${report.pruned.map((id) => ` ${id}`).join('')}\n`,
        );
      if (!options.json && (report.pushed.length || report.forgotten.length))
        process.stdout.write(
          `run-due: ${report.pushed.length} pushed${report.pushed.map((p) => ` ${p.snapshot} to ${p.repository} as ${p.backupId.slice(0, 8)}`).join(',')}, ${report.forgotten.length} forgotten in the repositories\n`,
        );
      if (!options.json && report.skipped) process.stdout.write(`run-due: pushes skipped: ${report.skipped}\n`);
      for (const warning of report.warnings) process.stderr.write(`hoststore: warning: ${warning}\n`);
      for (const failure of report.failed) process.stderr.write(`hoststore: snapshot failed: ${failure}\n`);
      // A failed push keeps every local snapshot; it is retried by the next run.
      for (const failure of report.pushFailed) process.stderr.write(`hoststore: push failed: ${failure}\n`);
      return report.failed.length || report.pushFailed.length ? 1 : 0;
    }
    case 'prune': {
      const pruned = await pruneAll(ctx, options.dryRun);
      process.stdout.write(
        pruned.length
          ? `${options.dryRun ? 'would prune' : 'pruned'}:\n${pruned.map((id) => `  ${id}`).join('\n')}\n`
          : 'nothing to prune\n',
      );
      return 0;
    }
    default:
      throw new UsageError(
        `unknown snapshot command '${verb ?? ''}'; use create, list, restore, delete, prune or run-due`,
      );
  }
}

async function restoreTo(options: GlobalOptions, id: string, name: string): Promise<number> {
  // The new storage's name becomes its path and registry key: the same rule as a spec's name.
  const nameProblem = nameRule(name);
  if (nameProblem) throw new SpecError(`--to ${JSON.stringify(name)} is not a storage name: it ${nameProblem}`);
  const ctx = makeContext(options.root);
  const snap = getSnapshot(ctx, id);
  const identity = { kind: snap.kind, root: options.root, project: snap.project, name };
  const target = storagePath(identity);
  const refuse = (reason: string) => {
    recordRefusal(ctx, subjectOfSnapshot(ctx, snap), reason);
    return new RefusedError(reason);
  };
  if (ctx.registry.storage(snap.kind, snap.project, name) || fs.existsSync(target)) {
    throw refuse(`${snap.kind} ${name} already exists; restore to a new name, or use --in-place`);
  }
  if (!(await verifySnapshot(snap, ctx)))
    throw refuse(`snapshot ${id} no longer matches its checksum; refusing to restore from it`);
  await restoreCopy(snap, target, options.root);
  const source = ctx.registry.storage(snap.kind, snap.project, snap.storage);
  const now = ctx.now().toISOString();
  ctx.registry.putStorage({
    kind: snap.kind,
    name,
    project: snap.project,
    stack: '',
    state: 'retained',
    shared: source?.shared ?? false,
    sizeGb: snap.kind === 'directory' ? undefined : Math.floor(fs.statSync(target).size / 1024 ** 3),
    filesystem: snap.kind === 'directory' ? undefined : readFilesystemSignature(target),
    removalPolicy: 'retain',
    path: target,
    createdAt: now,
    updatedAt: now,
    retainedAt: now,
    fromSnapshot: id,
  });
  recordStorageEvent(ctx, subjectOfSnapshot(ctx, snap), 'restored', `snapshot ${id} restored as ${snap.kind} ${name}`, {
    from: 'snapshot',
    snapshot: id,
    into: name,
  });
  recordStorageEvent(
    ctx,
    { kind: snap.kind, project: snap.project, storage: name },
    'created',
    `created from snapshot ${id} of ${snap.kind} ${snap.storage} (retained until a stack declares it)`,
    { fromSnapshot: id, source: snap.storage },
  );
  process.stdout.write(`restored snapshot ${id} as ${snap.kind} ${name} at ${target}; ${adoptHint(snap.kind, name)}\n`);
  return 0;
}

async function restoreInPlace(options: GlobalOptions, id: string): Promise<number> {
  const ctx = makeContext(options.root);
  const mounts = await withRootLock(
    options.root,
    { holder: `hoststore snapshot restore ${id} --in-place` },
    async () => {
      const snap = getSnapshot(ctx, id);
      let record = ctx.registry.storage(snap.kind, snap.project, snap.storage);
      if (!record)
        throw new HoststoreError(`${snap.kind} ${snap.storage} no longer exists; restore with --to ${snap.storage}`);
      const { finishInterruptedRestore, restoreInPlaceCrashSafe } = await import('../snapshots/restore-in-place.js');
      // A restore killed earlier is rolled back or finished first; if it was this one and it finished, done.
      const interrupted = record.restoring;
      const outcome = await finishInterruptedRestore(ctx, record);
      const users = ctx.registry.mountsOf(record.kind, record.project, record.name);
      if (outcome === 'finished' && interrupted?.snapshot === id) {
        process.stdout.write(
          `restored ${record.kind} ${record.name} from ${id} (its previous content is snapshot ${interrupted.safety})\n`,
        );
        return users;
      }
      record = ctx.registry.storage(snap.kind, snap.project, snap.storage) as StorageRecord;
      if (!(await verifySnapshot(snap, ctx))) {
        const reason = `snapshot ${id} no longer matches its checksum; refusing to restore from it`;
        recordRefusal(ctx, subjectOfSnapshot(ctx, snap), reason);
        throw new RefusedError(reason);
      }
      if (!options.yes)
        throw new UsageError(
          `restoring ${snap.storage} in place replaces its current content (a safety snapshot is taken first); pass --yes`,
        );
      // Paths by the layout from what the records name, never the paths they carry.
      for (const m of users) {
        const hostPath = recordedHostPath(options.root, m);
        if (!readMountTable().some((e) => e.target === hostPath)) continue;
        while (readMountTable().some((e) => e.target === hostPath)) await unmount(hostPath);
        // Mounted again after the restore (each a `mounted` event): the history shows the gap.
        recordStorageEvent(
          ctx,
          subjectOfSnapshot(ctx, snap),
          'unmounted',
          `unmounted from ${m.project}/${m.service} replica ${m.replica} at ${hostPath} for a restore in place`,
          { service: m.service, replica: m.replica, readOnly: m.readOnly, hostPath },
        );
      }
      if (record.kind !== 'directory') await unmountImage(recordedStoragePath(options.root, record));
      const safety = await takeSnapshot(ctx, record, 'safety');
      await restoreInPlaceCrashSafe(ctx, record, snap, safety);
      process.stdout.write(
        `restored ${record.kind} ${record.name} from ${id} (its previous content is snapshot ${safety.id})\n`,
      );
      return users;
    },
  );
  for (const m of mounts) await converge(mountHandler, ctx, mountSpecFromRecord(options.root, m));
  return 0;
}

/**
 * Each snapshot with its state: from its last recorded verification while its file is unchanged, else
 * (and for all with --verify) hashed now, under the root lock since the outcome is recorded.
 */
/** The snapshots' text: a table per root (`no snapshots` for an empty one), each under its heading when several. */
export function snapshotText(entries: readonly SnapshotEntry[], roots: readonly string[]): string {
  return perRootText(
    roots.map((root) => {
      const snapshots = entries.filter((s) => s.root === root);
      return { root, text: snapshots.length ? snapshotTable(snapshots) : 'no snapshots' };
    }),
  );
}

function snapshotTable(snapshots: readonly SnapshotEntry[]): string {
  const rows = snapshots.map((s) => [
    s.id,
    `${s.kind} ${s.storage}`,
    s.createdAt,
    s.trigger,
    s.method,
    s.frozenMs ? `${s.frozenMs} ms` : '-',
    formatBytes(s.allocatedBytes),
    s.state === 'ok' ? 'ok' : s.state.toUpperCase(),
    s.verified?.at ?? '-',
  ]);
  return table(['ID', 'STORAGE', 'TAKEN', 'TRIGGER', 'METHOD', 'FROZEN', 'ALLOCATED', 'CONTENT', 'VERIFIED'], rows);
}
