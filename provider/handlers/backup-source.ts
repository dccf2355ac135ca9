/**
 * Which backup a storage created with `fromBackup` restores, looked up while diffing (synchronously, since
 * a plan's diff is), so a plan and the handler under Terraform say which backup, or why not, before anything
 * runs. An unreadable repository is a refusal here, never "no backup": that would make an empty disk.
 */
import { createRequire } from 'node:module';
import type { FromBackupWire } from '../../src/backup-spec.js';
import type { StorageKind } from '../../src/schema.js';
import type { HandlerContext } from './handler.js';
import { repositoryRecord, type RepositoryRecord } from '../backup/records.js';
import { findRestic, repositoryPreflight } from '../backup/preflight.js';
import { entryOf, pickBackup, TAG, type BackupEntry } from '../backup/backups.js';
import { optionArgs, resticEnvironment, resticError } from '../backup/restic.js';

export type BackupSource =
  | {
      readonly state: 'found';
      readonly entry: BackupEntry;
      readonly repository: RepositoryRecord;
      readonly dataBytes?: number;
    }
  | {
      readonly state: 'none';
      readonly repository: RepositoryRecord;
      /** Not even a repository there yet (a first deploy: the first push creates it), said in the plan. */
      readonly noRepository?: boolean;
    }
  | { readonly state: 'refused'; readonly reason: string; readonly repository: RepositoryRecord };

export interface BackupTarget {
  readonly kind: StorageKind;
  readonly project: string;
  readonly name: string;
  readonly from_backup: FromBackupWire;
}

// A plan diffs each item once and then sizes it (space-needed): one restic listing serves both.
const CACHE_MS = 60_000;
const cache = new Map<string, { at: number; source: BackupSource }>();

export function describeRepository(repository: Pick<RepositoryRecord, 'name' | 'url'>): string {
  return `${repository.name} (${repository.url})`;
}

/** `backup 1a2b3c4d of 2026-11-21T04:00:30.000Z (snapshot data.20261121T040030Z.disk) from offsite` */
export function describeBackup(entry: BackupEntry, repository: Pick<RepositoryRecord, 'name'>): string {
  return `backup ${entry.shortId} of ${entry.time} (snapshot ${entry.snapshot}) from ${repository.name}`;
}

/**
 * The backup `spec.from_backup` names on its repository: the newest of this storage, or the one with that id.
 * `none` only when the repository answered and holds no backup of this storage (or does not exist yet).
 */
export function lookUpBackupSync(ctx: HandlerContext, spec: BackupTarget): BackupSource {
  const repository = repositoryRecord(spec.project, spec.from_backup.repository, ctx.now());
  const which = spec.from_backup.snapshot;
  const key = JSON.stringify([ctx.root, repository, spec.kind, spec.project, spec.name, which]);
  const cached = cache.get(key);
  if (cached && Date.now() - cached.at < CACHE_MS) return cached.source;
  const source = lookUp(ctx, spec, repository, which);
  // A refusal may be fixed in a moment (a chmod, a network): only answers are kept.
  if (source.state !== 'refused') cache.set(key, { at: Date.now(), source });
  return source;
}

function lookUp(ctx: HandlerContext, spec: BackupTarget, repository: RepositoryRecord, which: string): BackupSource {
  const refused = (why: string): BackupSource => ({
    state: 'refused',
    repository,
    reason: `cannot read backup repository ${describeRepository(repository)} to restore it (fromBackup): ${why}`,
  });
  const problems = repositoryPreflight(repository);
  if (problems.length) return refused(problems.join('; '));
  // The restic the preflight checked, by its absolute path.
  const restic = findRestic() as string;
  let environment: ReturnType<typeof resticEnvironment>;
  try {
    environment = resticEnvironment(ctx.root, repository);
  } catch (error) {
    return refused((error as Error).message);
  }
  const tags = [TAG, `hs-kind=${spec.kind}`, `hs-project=${spec.project}`, `hs-storage=${spec.name}`].join(',');
  // node:child_process (with the net and stream modules it loads, ~4 ms) only when a backup is looked up:
  // every storage handler process loads this module, and one that finds nothing to do restores nothing.
  const { spawnSync } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  const run = (args: string[]) => {
    const argv = [...optionArgs(repository), ...args];
    const result = spawnSync(restic, argv, {
      argv0: 'restic',
      env: environment.env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
      maxBuffer: 1 << 28,
    });
    if (result.status === 0) return { stdout: result.stdout };
    return {
      error: resticError(
        repository,
        argv,
        String(result.stderr ?? result.error?.message ?? ''),
        result.status ?? undefined,
        result.signal ?? (result.error ? 'failed to start' : undefined),
        environment.secrets,
      ),
    };
  };
  // No lock: a push or prune running elsewhere does not stop a listing.
  const listed = run(['snapshots', '--json', '--no-lock', '--tag', tags]);
  if (listed.error) {
    if (listed.error.failure === 'no-repository') return { state: 'none', repository, noRepository: true };
    return refused(listed.error.message);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(listed.stdout || '[]');
  } catch {
    return refused("restic's list of snapshots is not JSON (restic 0.14 or later is needed)");
  }
  const entries = (Array.isArray(parsed) ? parsed : [])
    .map((s) => entryOf(s as never))
    .filter((e): e is BackupEntry => e !== undefined)
    .filter((e) => e.kind === spec.kind && e.project === spec.project && e.storage === spec.name)
    .sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
  let entry: BackupEntry | undefined;
  try {
    entry = pickBackup(entries, which, repository);
  } catch (error) {
    return refused((error as Error).message);
  }
  if (!entry) return { state: 'none', repository };
  // The data the restore writes (holes stay holes): the backup's unique blobs, for the plan's space check.
  const stats = run(['stats', '--json', '--no-lock', '--mode', 'raw-data', entry.id]);
  let dataBytes: number | undefined;
  if (!stats.error) {
    try {
      const size = Number((JSON.parse(stats.stdout ?? '') as { total_size?: unknown }).total_size);
      dataBytes = Number.isFinite(size) ? size : undefined;
    } catch {
      dataBytes = undefined;
    }
  }
  return { state: 'found', entry, repository, dataBytes };
}
