/**
 * What the flow tests share: a restic repository on a local path with its root-only password file (made and
 * removed by the test), wire specs of a replicated policy and of storage made from a backup, and the restic
 * calls a test uses to look into the repository behind hoststore's back.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeFromBackup, encodeRepository, type BackupRepositoryWire } from '../../src/backup-spec.js';

export interface TestRepository {
  /** Its own temporary directory: the repository, its secrets and a restic cache of the test's own. */
  readonly dir: string;
  readonly url: string;
  readonly passwordFile: string;
  readonly wire: BackupRepositoryWire;
  /** restic run by the test (argv has no secret: the password comes from the file). */
  restic(args: string[]): string;
  /** The repository's snapshots as restic lists them. */
  snapshots(): Array<{ id: string; short_id: string; tags?: string[]; time: string }>;
  remove(): void;
}

/** A repository at `<dir>/store/repo`, initialized unless `init` is false, with password file `<dir>/secret/pass`. */
export function makeRepository(name = 'offsite', init = true): TestRepository {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-flow-repo-')));
  fs.chmodSync(dir, 0o700);
  fs.mkdirSync(path.join(dir, 'secret'), { mode: 0o700 });
  fs.mkdirSync(path.join(dir, 'store'), { mode: 0o700 });
  const passwordFile = path.join(dir, 'secret', 'pass');
  fs.writeFileSync(passwordFile, 'correct horse battery staple\n', { mode: 0o600 });
  const url = path.join(dir, 'store', 'repo');
  const env = {
    ...process.env,
    RESTIC_REPOSITORY: url,
    RESTIC_PASSWORD_FILE: passwordFile,
    RESTIC_CACHE_DIR: path.join(dir, 'cache'),
  };
  const restic = (args: string[]) => execFileSync('restic', args, { env, encoding: 'utf8', stdio: 'pipe' });
  if (init) restic(['init']);
  return {
    dir,
    url,
    passwordFile,
    wire: { name, url, password_file: passwordFile },
    restic,
    snapshots: () => JSON.parse(restic(['snapshots', '--json']) || '[]'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Makes the repository unreachable the way a lost mount would: its directory replaced by a file. */
export function cutOff(repo: TestRepository): () => void {
  const store = path.join(repo.dir, 'store');
  fs.renameSync(store, `${store}.away`);
  fs.writeFileSync(store, 'not a directory\n', { mode: 0o600 });
  return () => {
    fs.rmSync(store);
    fs.renameSync(`${store}.away`, store);
  };
}

/** A policy's wire spec replicated to `repo` (extra wire fields override). */
export function replicatedPolicyWire(
  root: string,
  repo: BackupRepositoryWire,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    root,
    project: 'app',
    policy: 'nightly',
    storage: 'data',
    storage_kind: 'disk',
    stack: 'test',
    schedule: '0 4 * * *',
    retention_days: '',
    retention_count: '3',
    replicate_to: encodeRepository(repo),
    ...overrides,
  };
}

export function fromBackupField(repo: BackupRepositoryWire, snapshot = 'latest'): string {
  return encodeFromBackup({ repository: repo, snapshot });
}

/** Allocated bytes of a file (what its sparse copy really takes). */
export function allocated(file: string): number {
  return fs.statSync(file).blocks * 512;
}

/** restic processes that are children (at any depth) of `pid`. */
export function resticDescendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      /* gone meanwhile */
    }
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const child of children.get(p) ?? []) {
      try {
        if (fs.readFileSync(`/proc/${child}/comm`, 'utf8').trim() === 'restic') found.push(child);
      } catch {
        /* gone */
      }
      walk(child);
    }
  };
  walk(pid);
  return found;
}
