/**
 * restic repositories for tests: a repository directory in a temp dir of its own with a root-only password file
 * (and optional environment file), reached as a local path or over SFTP through a test sshd (test/helpers/sshd.ts)
 * with an ssh config of the test's own (never root's ~/.ssh), plus restic run by hand to check what landed there.
 * `cleanup()` (call it from afterEach/afterAll) removes the temp dir and everything in it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BackupRepositoryWire } from '../../src/backup-spec.js';
import type { SshHost } from './sshd.js';

export interface ResticRepositoryFixture {
  /** The temp dir holding the repository, the secrets and restic's cache for `restic()` runs. */
  readonly dir: string;
  /** The repository directory (on this machine, also for an sftp: one: the test's sshd is loopback). */
  readonly repositoryDir: string;
  /** The restic repository URL hoststore is given (a path, or `sftp:hoststore-target:<dir>`). */
  readonly url: string;
  /** Root-owned 0600 file holding the password; `password` is its content (tests only: to prove it leaks nowhere). */
  readonly passwordFile: string;
  readonly password: string;
  /** Root-owned 0600 `KEY=value` file, when asked for. */
  readonly environmentFile?: string;
  /** restic's `-o` options (sftp.command for an sftp: repository). */
  readonly options?: Readonly<Record<string, string>>;
  /** The repository as a spec carries it, named `name`. */
  wire(name: string): BackupRepositoryWire;
  /** The construct props of a BackupRepository for it (`repository`, `passwordFile`, ...). */
  props(): { repository: string; passwordFile: string; environmentFile?: string; options?: Record<string, string> };
  /** Runs restic by hand on this repository (its own cache under `dir`); throws with stderr on failure. */
  restic(args: readonly string[], options?: { input?: Buffer | string; allowFailure?: boolean }): ResticRun;
  /** `restic snapshots --json` (empty when the repository was never made). */
  snapshots(): ResticSnapshot[];
  /** `restic init` by hand (a test that wants the repository to exist before hoststore sees it). */
  init(): void;
  /** Bytes under the repository directory (data + index + snapshots), as `du -sb` counts them. */
  sizeBytes(): number;
  cleanup(): void;
}

export interface ResticRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ResticSnapshot {
  readonly id: string;
  readonly short_id: string;
  readonly time: string;
  readonly hostname: string;
  readonly paths: string[];
  readonly tags?: string[];
}

export interface RepositoryOptions {
  /** Lines for an environment file (written root 0600); none when undefined. */
  readonly environment?: Readonly<Record<string, string>>;
  /** Run `restic init` now (default false: hoststore's first push makes the repository). */
  readonly init?: boolean;
  /** Temp dir prefix. */
  readonly prefix?: string;
}

/** Writes `content` as a root-owned 0600 file (mode set explicitly: the umask must not widen or narrow it). */
export function writeSecretFile(file: string, content: string): void {
  fs.writeFileSync(file, content, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  fs.chownSync(file, 0, 0);
}

function makeDir(prefix: string): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  fs.chmodSync(dir, 0o700);
  fs.mkdirSync(path.join(dir, 'secrets'), { mode: 0o700 });
  fs.mkdirSync(path.join(dir, 'cache'), { mode: 0o700 });
  return dir;
}

function fixture(
  dir: string,
  url: string,
  options: Readonly<Record<string, string>> | undefined,
  opts: RepositoryOptions,
): ResticRepositoryFixture {
  const repositoryDir = path.join(dir, 'repo');
  const password = randomBytes(24).toString('base64url');
  const passwordFile = path.join(dir, 'secrets', 'repository.pass');
  writeSecretFile(passwordFile, `${password}\n`);
  let environmentFile: string | undefined;
  if (opts.environment) {
    environmentFile = path.join(dir, 'secrets', 'repository.env');
    writeSecretFile(
      environmentFile,
      Object.entries(opts.environment)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
  }
  const restic: ResticRepositoryFixture['restic'] = (args, runOptions = {}) => {
    const optionArgs = Object.entries(options ?? {}).flatMap(([k, v]) => ['-o', `${k}=${v}`]);
    const result = spawnSync('restic', [...optionArgs, ...args], {
      input: runOptions.input,
      maxBuffer: 1024 * 1024 * 1024,
      env: {
        PATH: process.env.PATH,
        ...opts.environment,
        RESTIC_REPOSITORY: url,
        RESTIC_PASSWORD_FILE: passwordFile,
        RESTIC_CACHE_DIR: path.join(dir, 'cache'),
      },
    });
    const run = { status: result.status ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
    if (run.status !== 0 && !runOptions.allowFailure)
      throw new Error(`restic ${args.join(' ')} exited ${run.status}: ${run.stderr.trim()}`);
    return run;
  };
  const wire = (name: string): BackupRepositoryWire => ({
    name,
    url,
    password_file: passwordFile,
    ...(environmentFile ? { environment_file: environmentFile } : {}),
    ...(options ? { options } : {}),
  });
  const made: ResticRepositoryFixture = {
    dir,
    repositoryDir,
    url,
    passwordFile,
    password,
    environmentFile,
    options,
    wire,
    props: () => ({
      repository: url,
      passwordFile,
      ...(environmentFile ? { environmentFile } : {}),
      ...(options ? { options: { ...options } } : {}),
    }),
    restic,
    snapshots: () => {
      if (!fs.existsSync(path.join(repositoryDir, 'config'))) return [];
      return JSON.parse(restic(['snapshots', '--json']).stdout || '[]') as ResticSnapshot[];
    },
    init: () => void restic(['init']),
    sizeBytes: () => Number(execFileSync('du', ['-sb', repositoryDir]).toString().split('\t')[0]),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
  if (opts.init) made.init();
  return made;
}

/** A repository on a local path (`<temp dir>/repo`), not made yet unless `init`. */
export function localRepository(opts: RepositoryOptions = {}): ResticRepositoryFixture {
  const dir = makeDir(opts.prefix ?? 'hoststore-restic-');
  return fixture(dir, path.join(dir, 'repo'), undefined, opts);
}

/**
 * A repository served over SFTP by `host` (a test sshd on loopback, whose host key its ssh config pins):
 * `sftp:hoststore-target:<temp dir>/repo`, with `sftp.command` running ssh with that config, so restic
 * never reads root's ~/.ssh. The repository directory is on this machine (the sshd is loopback).
 */
export function sftpRepository(
  host: SshHost,
  opts: RepositoryOptions = {},
): ResticRepositoryFixture & { readonly network: SftpNetwork } {
  const dir = makeDir(opts.prefix ?? 'hoststore-restic-sftp-');
  // A copy of the host's ssh config, so the test can cut the repository off (and back) without touching the host.
  const sshConfigFile = path.join(dir, 'ssh_config');
  const config = fs.readFileSync(host.sshConfigFile, 'utf8');
  fs.writeFileSync(sshConfigFile, config, { mode: 0o600 });
  const options = { 'sftp.command': `ssh -F ${sshConfigFile} hoststore-target -s sftp` };
  const network: SftpNetwork = {
    cutOff: (port) => fs.writeFileSync(sshConfigFile, config.replace(/^ {2}Port \d+$/m, `  Port ${port}`)),
    restore: () => fs.writeFileSync(sshConfigFile, config),
  };
  return { ...fixture(dir, `sftp:hoststore-target:${path.join(dir, 'repo')}`, options, opts), network };
}

/** The SFTP repository's reachability: its ssh config pointed at a closed port, and back. */
export interface SftpNetwork {
  /** Points the repository's ssh at `port` on the same address (one nothing listens on: connection refused). */
  cutOff(port: number): void;
  restore(): void;
}

/** What is in root's restic cache now (names), to check that hoststore kept its cache under its root. */
export function rootResticCacheEntries(): string[] {
  const dir = path.join(os.homedir(), '.cache', 'restic');
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** True when restic is installed (tests skip with a reason otherwise). */
export function resticAvailable(): boolean {
  return spawnSync('restic', ['version'], { stdio: 'ignore' }).status === 0;
}
