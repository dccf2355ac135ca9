/**
 * `hoststore backup push | list | restore | status | verify`: snapshots sent off the host to a restic
 * repository, what the repository holds, new storage from a backup on any host with the password, and
 * how far each replicated storage is behind.
 */
import * as fs from 'node:fs';
import { nameRule } from '../../src/schema.js';
import { HoststoreError, RefusedError, SpecError, UsageError } from '../errors.js';
import { makeContext, type HandlerContext } from '../handlers/handler.js';
import { storagePath } from '../handlers/storage.js';
import { readFilesystemSignature } from '../host/fs-signature.js';
import { withRootLock } from '../registry/lock.js';
import { recordRefusal, recordStorageEvent } from '../journal/storage-event.js';
import type { StorageRecord } from '../registry/store.js';
import { inventory } from '../inventory.js';
import { listSnapshots, subjectOfSnapshot, takeSnapshot, type SnapshotRecord } from '../snapshots/snapshots.js';
import type { PolicyRecord } from '../handlers/snapshot-policy.js';
import type { GlobalOptions } from '../cli.js';
import { findItem } from './list.js';
import { formatBytes, printJson, table } from './format.js';
import { commandHint, shellWord } from '../command-hint.js';
import { resolveRepository, type RepositoryFlags, type ResolvedRepository } from '../backup/resolve-repository.js';
import type { BackupEntry } from '../backup/backups.js';
import { BACKUPS, pushKey, type PushRecord } from '../backup/records.js';
import type { BackupStatusRow } from '../backup/status.js';
import { adoptHint } from './adopt-hint.js';

export interface BackupOptions extends GlobalOptions, RepositoryFlags {
  /** `restore --to NAME`. */
  readonly to?: string;
  /** `verify --read-data`. */
  readonly readData?: boolean;
  /** Where progress lines go; default stdout, or stderr with --json. */
  readonly log?: (line: string) => void;
}

export async function backup(args: string[], options: BackupOptions): Promise<number> {
  const [verb, target] = args;
  const ctx = makeContext(
    options.root,
    options.log ? { log: options.log } : options.json ? { log: (line) => process.stderr.write(`${line}\n`) } : {},
  );
  switch (verb) {
    case 'push':
      if (!target) throw new UsageError('usage: hoststore backup push NAME [--repository R]');
      return push(ctx, target, options);
    case 'list':
      return list(ctx, target, options);
    case 'restore':
      if (!target || !options.to) throw new UsageError('usage: hoststore backup restore ID --to NAME [--repository R]');
      return restore(ctx, target, options.to, options);
    case 'status':
      return status(ctx, options);
    case 'verify':
      return verify(ctx, options);
    default:
      throw new UsageError(`unknown backup command '${verb ?? ''}'; use push, list, restore, status or verify`);
  }
}

function storageRecord(options: GlobalOptions, name: string): StorageRecord {
  const item = findItem(inventory(options.root), name, options);
  const record = makeContext(options.root).registry.storage(item.kind, item.project, item.name);
  if (!record) throw new HoststoreError(`${item.kind} ${name} is not managed by hoststore (state ${item.state})`);
  return record;
}

/** The repository a storage is replicated to (its policy's), else the only one of its project, else --repository. */
function repositoryFor(ctx: HandlerContext, storage: StorageRecord, options: BackupOptions): ResolvedRepository {
  if (options.repository === undefined) {
    const replicated = new Set(
      ctx.registry
        .list<PolicyRecord>('policies')
        .map((e) => e.record)
        .filter((p) => p.project === storage.project && p.storage === storage.name && p.storageKind === storage.kind)
        .map((p) => p.replicateTo)
        .filter((n): n is string => n !== undefined),
    );
    return resolveRepository(ctx, options, (r) =>
      replicated.size ? r.project === storage.project && replicated.has(r.name) : r.project === storage.project,
    );
  }
  return resolveRepository(ctx, options);
}

/** The storage's newest snapshot (safety snapshots of in-place restores aside). */
function newestSnapshot(ctx: HandlerContext, storage: StorageRecord): SnapshotRecord | undefined {
  const all = listSnapshots(ctx, storage.name).filter(
    (s) => s.kind === storage.kind && s.project === storage.project && s.trigger !== 'safety',
  );
  return all[all.length - 1];
}

async function push(ctx: HandlerContext, name: string, options: BackupOptions): Promise<number> {
  const storage = storageRecord(options, name);
  const repository = repositoryFor(ctx, storage, options);
  if (!repository.recorded)
    throw new UsageError(
      `backup push records each push against a BackupRepository recorded on this host (deploy a SnapshotPolicy with replicateTo); --repository ${options.repository} is a URL: list, restore and verify take URLs`,
    );
  const { pushSnapshot } = await import('../backup/push.js');
  // Taking a snapshot changes the root: under its lock. The push only reads it: outside, so deploys need not wait.
  const snapshot =
    newestSnapshot(ctx, storage) ??
    (await withRootLock(options.root, { holder: `hoststore backup push ${name} (snapshot)` }, async () => {
      const fresh = ctx.registry.storage(storage.kind, storage.project, storage.name) ?? storage;
      return newestSnapshot(ctx, fresh) ?? takeSnapshot(ctx, fresh, 'manual');
    }));
  // Pushed already: another push would only add a duplicate that remote retention's count would spend a slot on.
  const done = ctx.registry.get<PushRecord>(
    BACKUPS,
    pushKey(storage.kind, storage.project, storage.name, repository.name),
  );
  if (done?.lastPushedSnapshot === snapshot.id && done.url === repository.url && done.lastBackupId) {
    if (options.json)
      printJson({
        snapshot: snapshot.id,
        repository: repository.name,
        url: repository.url,
        alreadyPushed: true,
        backupId: done.lastBackupId,
      });
    else
      process.stdout.write(
        `${storage.kind} ${storage.name}: its newest snapshot ${snapshot.id} is already in ${repository.name} (${repository.url}) as backup ${done.lastBackupId.slice(0, 8)}; take a new one (${commandHint(ctx.root, `snapshot create ${storage.name}`)}) to push the current data\n`,
      );
    return 0;
  }
  ctx.log(`sending ${storage.kind} ${storage.name} snapshot ${snapshot.id} to ${repository.name} (${repository.url})`);
  const result = await pushSnapshot(ctx, { ...repository, project: repository.project ?? storage.project }, snapshot);
  if (options.json) printJson({ snapshot: snapshot.id, repository: repository.name, url: repository.url, ...result });
  else
    process.stdout.write(
      `pushed ${storage.kind} ${storage.name} snapshot ${snapshot.id} to ${repository.name} (${repository.url}${result.initialised ? ', made by this push' : ''}): backup ${result.backup.shortId}, ${formatBytes(result.bytesAdded)} added of ${formatBytes(result.bytesProcessed)} read\n`,
    );
  return 0;
}

async function list(ctx: HandlerContext, name: string | undefined, options: BackupOptions): Promise<number> {
  const repository = resolveRepository(ctx, options);
  const { listBackups } = await import('../backup/backups.js');
  const entries = await listBackups(ctx, repository, {
    ...(name === undefined ? {} : { storage: name }),
    ...(options.project === undefined ? {} : { project: options.project }),
  });
  if (options.json) printJson(entries);
  else
    process.stdout.write(
      `${entries.length ? backupTable(entries) : `no backups${name ? ` of ${name}` : ''} in ${repository.name} (${repository.url})`}\n`,
    );
  return 0;
}

export function backupTable(entries: readonly BackupEntry[]): string {
  return table(
    ['ID', 'HOST', 'PROJECT', 'STORAGE', 'TIME', 'SIZE', 'ADDED', 'SNAPSHOT'],
    entries.map((e) => [
      e.shortId,
      e.host,
      e.project,
      `${e.kind} ${e.storage}`,
      e.time,
      e.kind === 'directory' ? '-' : formatBytes(e.size),
      formatBytes(e.bytesAdded),
      e.snapshot,
    ]),
  );
}

async function restore(ctx: HandlerContext, id: string, name: string, options: BackupOptions): Promise<number> {
  // The new storage's name becomes its path and registry key: the same rule as a spec's name.
  const nameProblem = nameRule(name);
  if (nameProblem) throw new SpecError(`--to ${JSON.stringify(name)} is not a storage name: it ${nameProblem}`);
  const repository = resolveRepository(ctx, options);
  const { backupById } = await import('../backup/backups.js');
  const { restoreBackupTo } = await import('../backup/restore.js');
  const entry = await backupById(ctx, repository, id);
  if (!entry)
    throw new HoststoreError(
      `no backup ${id} in ${repository.name} (${repository.url}); see ${commandHint(ctx.root, `backup list${options.repository ? ` --repository ${shellWord(options.repository)}` : ''}`)}`,
    );
  const target = storagePath({ kind: entry.kind, root: options.root, project: entry.project, name });
  return withRootLock(options.root, { holder: `hoststore backup restore ${id}` }, async () => {
    const source = subjectOfSnapshot(ctx, { kind: entry.kind, project: entry.project, storage: entry.storage });
    if (ctx.registry.storage(entry.kind, entry.project, name) || fs.existsSync(target)) {
      const reason = `${entry.kind} ${name} already exists; restore to a new name`;
      recordRefusal(ctx, source, reason);
      throw new RefusedError(reason);
    }
    ctx.log(
      `restoring backup ${entry.shortId} (${entry.kind} ${entry.storage}, ${entry.time}) from ${repository.name} (${repository.url})`,
    );
    const restored = await restoreBackupTo({ ...ctx, rootLocked: true }, repository, entry, target);
    const now = ctx.now().toISOString();
    ctx.registry.putStorage({
      kind: entry.kind,
      name,
      project: entry.project,
      stack: '',
      state: 'retained',
      shared: false,
      sizeGb: entry.kind === 'directory' ? undefined : Math.floor(entry.size / 1024 ** 3),
      filesystem: entry.kind === 'directory' ? undefined : readFilesystemSignature(target),
      removalPolicy: 'retain',
      path: target,
      createdAt: now,
      updatedAt: now,
      retainedAt: now,
    });
    // Its history says where the data came from; never the repository's URL (it may carry a password).
    recordStorageEvent(
      ctx,
      source,
      'restored',
      `backup ${entry.shortId} (snapshot ${entry.snapshot}) restored from repository ${repository.name} as ${entry.kind} ${name}`,
      { from: 'backup', backup: entry.shortId, snapshot: entry.snapshot, repository: repository.name, into: name },
    );
    recordStorageEvent(
      ctx,
      { kind: entry.kind, project: entry.project, storage: name },
      'created',
      `created from backup ${entry.shortId} of ${entry.kind} ${entry.storage} in repository ${repository.name} (retained until a stack declares it)`,
      { fromBackup: entry.shortId, repository: repository.name, source: entry.storage },
    );
    if (options.json) printJson({ backup: entry, kind: entry.kind, name, project: entry.project, ...restored });
    else
      process.stdout.write(
        `restored backup ${entry.shortId} (${entry.kind} ${entry.storage} from ${entry.host}, ${entry.time}) as ${entry.kind} ${name} at ${target}; ${adoptHint(entry.kind, name)}\n`,
      );
    return 0;
  });
}

async function status(ctx: HandlerContext, options: BackupOptions): Promise<number> {
  const { backupStatus } = await import('../backup/status.js');
  const rows = backupStatus(ctx).filter((r) => !options.project || r.project === options.project);
  if (options.json) printJson(rows);
  else process.stdout.write(`${rows.length ? statusTable(rows) : `no replicated storage under ${ctx.root}`}\n`);
  return rows.some((r) => r.state === 'failing') ? 1 : 0;
}

function lag(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
}

export function statusTable(rows: readonly BackupStatusRow[]): string {
  return table(
    ['STORAGE', 'REPOSITORY', 'STATE', 'LAST SNAPSHOT', 'LAST PUSHED', 'LAG', 'SENT', 'ERROR'],
    rows.map((r) => [
      `${r.kind} ${r.project}/${r.storage}`,
      r.repository,
      r.state,
      r.lastSnapshot ?? '-',
      r.lastPushedSnapshot ?? '-',
      lag(r.lagSeconds),
      formatBytes(r.bytesAdded),
      r.error ?? '',
    ]),
  );
}

async function verify(ctx: HandlerContext, options: BackupOptions): Promise<number> {
  const repository = resolveRepository(ctx, options);
  const { verifyRepository } = await import('../backup/verify.js');
  const result = await verifyRepository(ctx, repository, { readData: options.readData ?? false });
  if (options.json) printJson(result);
  else
    process.stdout.write(
      `backup repository ${repository.name} (${repository.url}): intact (restic check${result.readData ? ' --read-data' : ''}: no errors were found)\n`,
    );
  return 0;
}
