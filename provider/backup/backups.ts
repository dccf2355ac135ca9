/**
 * The backups a repository holds, as hoststore tagged them (`hoststore`, `hs-kind=`, `hs-project=`, ...):
 * listing them and finding the one a restore or a `fromBackup` asks for.
 */
import type { StorageKind } from '../../src/schema.js';
import { STORAGE_KINDS, nameRule, projectNameRule } from '../../src/schema.js';
import type { HandlerContext } from '../handlers/handler.js';
import type { ChecksumMethod } from '../snapshots/snapshots.js';
import { BACKUPS, type PushRecord } from './records.js';
import { BackupError, restic, type ResticRepository } from './restic.js';

/** One backup (a restic snapshot hoststore made) of one storage. */
export interface BackupEntry {
  /** restic's snapshot id (64 hex) and its short form. */
  readonly id: string;
  readonly shortId: string;
  /** When the local snapshot it holds was taken (ISO, UTC). */
  readonly time: string;
  /** The host that pushed it. */
  readonly host: string;
  readonly kind: StorageKind;
  readonly project: string;
  readonly storage: string;
  /** The local snapshot's id on the host that pushed it. */
  readonly snapshot: string;
  readonly sha256: string;
  readonly checksumMethod: ChecksumMethod;
  /** The image's size in bytes (a directory: 0). */
  readonly size: number;
  /** The file or directory inside the restic snapshot. */
  readonly path: string;
  /** What its push added to the repository, when this host pushed it. */
  readonly bytesAdded?: number;
}

export interface BackupFilter {
  readonly kind?: StorageKind;
  readonly project?: string;
  readonly storage?: string;
}

export const TAG = 'hoststore';

/** The tags a push gives a backup, in the order restic keeps them. */
export function backupTags(
  entry: Omit<BackupEntry, 'id' | 'shortId' | 'time' | 'host' | 'path' | 'bytesAdded'>,
): string[] {
  return [
    TAG,
    `hs-kind=${entry.kind}`,
    `hs-project=${entry.project}`,
    `hs-storage=${entry.storage}`,
    `hs-snapshot=${entry.snapshot}`,
    `hs-sha256=${entry.sha256}`,
    `hs-checksum=${entry.checksumMethod}`,
    `hs-size=${entry.size}`,
  ];
}

interface ResticSnapshot {
  readonly id?: unknown;
  readonly short_id?: unknown;
  readonly time?: unknown;
  readonly hostname?: unknown;
  readonly paths?: unknown;
  readonly tags?: unknown;
}

// What the repository says is shown on terminals and written to the journal: no escape sequences, no newlines.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

/** A restic snapshot read as a BackupEntry; undefined when it is not one of ours (tags missing or malformed). */
export function entryOf(snapshot: ResticSnapshot): BackupEntry | undefined {
  const tags = Array.isArray(snapshot.tags) ? snapshot.tags.filter((t): t is string => typeof t === 'string') : [];
  if (!tags.includes(TAG)) return undefined;
  const tag = (name: string) => tags.find((t) => t.startsWith(`${name}=`))?.slice(name.length + 1);
  const kind = tag('hs-kind');
  const project = tag('hs-project');
  const storage = tag('hs-storage');
  const local = tag('hs-snapshot');
  const sha256 = tag('hs-sha256');
  const method = tag('hs-checksum');
  const size = Number(tag('hs-size'));
  const paths = Array.isArray(snapshot.paths) ? snapshot.paths : [];
  if (
    !kind ||
    !(STORAGE_KINDS as readonly string[]).includes(kind) ||
    !project ||
    !storage ||
    // Both become parts of paths and registry keys (`backup restore` makes the storage under hs-project).
    projectNameRule(project) !== undefined ||
    nameRule(storage) !== undefined ||
    !local ||
    CONTROL.test(local) ||
    typeof paths[0] !== 'string' ||
    CONTROL.test(paths[0]) ||
    !sha256 ||
    !/^[0-9a-f]{64}$/.test(sha256) ||
    (method !== 'extents' && method !== 'full') ||
    !Number.isSafeInteger(size) ||
    size < 0 ||
    typeof snapshot.id !== 'string'
  )
    return undefined;
  return {
    id: snapshot.id,
    shortId: typeof snapshot.short_id === 'string' ? snapshot.short_id : snapshot.id.slice(0, 8),
    time: typeof snapshot.time === 'string' ? new Date(snapshot.time).toISOString() : '',
    host: typeof snapshot.hostname === 'string' ? snapshot.hostname.replace(CONTROLS, '?') : '',
    kind: kind as StorageKind,
    project,
    storage,
    snapshot: local,
    sha256,
    checksumMethod: method,
    size,
    path: paths[0] as string,
  };
}

/** What each push from this root added, by restic snapshot id (restic 0.14 keeps no such statistic). */
function addedByThisHost(ctx: HandlerContext): Map<string, number> {
  const added = new Map<string, number>();
  for (const { record } of ctx.registry.list<PushRecord>(BACKUPS)) {
    for (const push of record.pushes ?? []) added.set(push.backupId, push.bytesAdded);
    if (record.lastBackupId && record.bytesAdded !== undefined) added.set(record.lastBackupId, record.bytesAdded);
  }
  return added;
}

/**
 * The repository's backups made by hoststore (of one storage with a filter), oldest first. Throws a
 * BackupError when the repository cannot be read, `no-repository` when nothing is there.
 */
export async function listBackups(
  ctx: HandlerContext,
  repository: ResticRepository,
  filter: BackupFilter = {},
): Promise<BackupEntry[]> {
  const tags = [
    TAG,
    ...(filter.kind ? [`hs-kind=${filter.kind}`] : []),
    ...(filter.project ? [`hs-project=${filter.project}`] : []),
    ...(filter.storage ? [`hs-storage=${filter.storage}`] : []),
  ];
  // Listing takes no lock: a push or a prune running elsewhere does not make a listing fail.
  const { stdout } = await restic(ctx.root, repository, ['snapshots', '--json', '--no-lock', '--tag', tags.join(',')], {
    timeoutMs: 600_000,
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout || '[]');
  } catch {
    throw new BackupError(
      `backup repository ${repository.name} (${repository.url}): restic's list of snapshots is not JSON; check the restic version (restic version: 0.14 or later)`,
    );
  }
  const added = addedByThisHost(ctx);
  return (Array.isArray(parsed) ? parsed : [])
    .map((s) => entryOf(s as ResticSnapshot))
    .filter((e): e is BackupEntry => e !== undefined)
    .map((e) => (added.has(e.id) ? { ...e, bytesAdded: added.get(e.id) } : e))
    .sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
}

/**
 * The newest backup of that storage (`latest`) or the one with that restic id (full or a prefix of at least
 * 8), or undefined when the repository has none (also when there is no repository at all). Throws a
 * BackupError when the repository cannot be read: callers must not take that for "no backup".
 */
export async function findBackup(
  ctx: HandlerContext,
  repository: ResticRepository,
  storage: { readonly kind: StorageKind; readonly project: string; readonly storage: string },
  which: string,
): Promise<BackupEntry | undefined> {
  let entries: BackupEntry[];
  try {
    entries = await listBackups(ctx, repository, storage);
  } catch (error) {
    if (error instanceof BackupError && error.failure === 'no-repository') return undefined;
    throw error;
  }
  return pickBackup(entries, which, repository);
}

/**
 * The backup `which` names among one storage's `entries` (oldest first): the newest for `latest`, else the one
 * whose id is or starts with it (at least 8 digits). A prefix that several match is refused, never guessed.
 */
export function pickBackup(
  entries: readonly BackupEntry[],
  which: string,
  repository: Pick<ResticRepository, 'name' | 'url'>,
): BackupEntry | undefined {
  if (which === 'latest') return entries[entries.length - 1];
  const matches = entries.filter((e) => e.id === which || (which.length >= 8 && e.id.startsWith(which)));
  if (matches.length > 1)
    throw new BackupError(
      `backup id ${which} matches ${matches.length} backups in ${repository.name} (${repository.url}): ${matches.map((m) => m.id.slice(0, 16)).join(', ')}; give more of the id`,
    );
  return matches[0];
}

/** Any backup by restic id (full or prefix of at least 8), whatever storage it holds: `backup restore ID`. */
export async function backupById(
  ctx: HandlerContext,
  repository: ResticRepository,
  id: string,
): Promise<BackupEntry | undefined> {
  const entries = await listBackups(ctx, repository);
  const matches = entries.filter((e) => e.id === id || e.shortId === id || (id.length >= 8 && e.id.startsWith(id)));
  if (matches.length > 1)
    throw new BackupError(
      `backup id ${id} matches ${matches.length} backups in ${repository.name} (${matches.map((m) => m.shortId).join(', ')}); give more of the id`,
    );
  return matches[0];
}
