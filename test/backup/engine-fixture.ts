/**
 * What the engine tests share: a restic repository on a local path in a temp dir of its own (root-only
 * password file, optional environment file), recorded on a root as a BackupRepository, and a disk whose
 * image the test writes bytes into directly. `remove()` deletes the temp dir.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPOSITORIES, repositoryKey, type RepositoryRecord } from '../../provider/backup/records.js';
import { makeContext } from '../../provider/handlers/handler.js';

export const PASSWORD = 'engine-test correct horse battery staple';

export interface EngineRepository {
  readonly dir: string;
  readonly url: string;
  readonly passwordFile: string;
  readonly record: RepositoryRecord;
  /** restic by hand (its own cache in the temp dir). */
  restic(args: string[]): string;
  /** Records it on `root` as project `app`'s repository `offsite`. */
  recordOn(root: string): void;
  remove(): void;
}

export function writeSecret(file: string, content: string): void {
  fs.writeFileSync(file, content, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

export function makeEngineRepository(options: { environment?: string; name?: string } = {}): EngineRepository {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-engine-repo-')));
  fs.chmodSync(dir, 0o700);
  fs.mkdirSync(path.join(dir, 'secret'), { mode: 0o700 });
  const passwordFile = path.join(dir, 'secret', 'pass');
  writeSecret(passwordFile, `${PASSWORD}\n`);
  let environmentFile: string | undefined;
  if (options.environment !== undefined) {
    environmentFile = path.join(dir, 'secret', 'env');
    writeSecret(environmentFile, options.environment);
  }
  const url = path.join(dir, 'repo');
  const record: RepositoryRecord = {
    project: 'app',
    name: options.name ?? 'offsite',
    url,
    passwordFile,
    ...(environmentFile ? { environmentFile } : {}),
    updatedAt: new Date().toISOString(),
  };
  const env = {
    ...process.env,
    RESTIC_REPOSITORY: url,
    RESTIC_PASSWORD_FILE: passwordFile,
    RESTIC_CACHE_DIR: path.join(dir, 'cache'),
  };
  return {
    dir,
    url,
    passwordFile,
    record,
    restic: (args) => execFileSync('restic', args, { env, encoding: 'utf8', stdio: 'pipe' }),
    recordOn: (root) =>
      makeContext(root).registry.put(REPOSITORIES, repositoryKey(record.project, record.name), record),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Writes `bytes` of random data into `file` at `offset` (no truncation): data the snapshot will hold. */
export function writeRandom(file: string, offset: number, bytes: number): void {
  execFileSync('dd', [
    'if=/dev/urandom',
    `of=${file}`,
    'bs=1M',
    `seek=${offset >> 20}`,
    `count=${bytes >> 20}`,
    'conv=notrunc,fsync',
    'status=none',
  ]);
}

export function allocatedBytes(file: string): number {
  return fs.statSync(file).blocks * 512;
}

/** Entries of root's own restic cache (it must not grow: hoststore's cache lives under its root). */
export function rootResticCache(): string[] {
  try {
    return fs.readdirSync('/root/.cache/restic').sort();
  } catch {
    return [];
  }
}
