/**
 * The one door to restic: runs it without a shell, the repository and its password given through the
 * environment (never argv, so never in `ps`), its cache under the hoststore root, and every failure turned
 * into one line that names the repository, says what restic said and what to do.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResultPromise } from 'execa';
import { requireTool, run } from '../exec.js';
import { makeRootDirectory } from '../host/root-trust.js';
import type { RepositoryRecord } from './records.js';
import { BackupError, type BackupFailure } from './backup-error.js';
import { readEnvironmentFile } from './restic-env.js';
import { RESTIC_MISSING, findRestic, repositoryPreflight } from './preflight.js';

export { BackupError, type BackupFailure } from './backup-error.js';

/** What restic needs to open a repository: a RepositoryRecord, or one given on the command line. */
export type ResticRepository = Pick<RepositoryRecord, 'name' | 'url' | 'passwordFile' | 'environmentFile' | 'options'>;

/** `<root>/cache/restic` (0700): restic's cache, never root's ~/.cache. */
export function resticCacheDir(root: string): string {
  return makeRootDirectory(root, path.join(root, 'cache', 'restic'));
}

export interface ResticEnvironment {
  readonly env: Record<string, string>;
  /** Values from the environment file, scrubbed from anything restic prints before it is shown. */
  readonly secrets: readonly string[];
}

/** The environment restic runs with: ours, plus the environment file's variables. */
export function resticEnvironment(root: string, repo: ResticRepository): ResticEnvironment {
  const fromFile = repo.environmentFile ? readEnvironmentFile(repo.environmentFile) : {};
  const env: Record<string, string> = {
    ...fromFile,
    LC_ALL: 'C',
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    RESTIC_REPOSITORY: repo.url,
    RESTIC_PASSWORD_FILE: repo.passwordFile,
    RESTIC_CACHE_DIR: resticCacheDir(root),
    // No progress bars on a pipe.
    RESTIC_PROGRESS_FPS: '0.016',
    // `--time` is read, and times are shown, in UTC.
    TZ: 'UTC',
  };
  // sftp: runs ssh, which finds root's keys, agent and known_hosts through these.
  for (const name of ['HOME', 'SSH_AUTH_SOCK', 'TMPDIR'])
    if (process.env[name] !== undefined && env[name] === undefined) env[name] = process.env[name] as string;
  return { env, secrets: Object.values(fromFile).filter((v) => v.length >= 4) };
}

/** `-o key=value` for each of the repository's extended options. */
export function optionArgs(repo: ResticRepository): string[] {
  return Object.keys(repo.options ?? {})
    .sort()
    .flatMap((key) => ['-o', `${key}=${(repo.options as Record<string, string>)[key]}`]);
}

export interface ResticOptions {
  /** Killed (SIGTERM) after this long. @default none: a push of a large image takes as long as it takes */
  readonly timeoutMs?: number;
  /** Exit codes that are not failures (`restic backup`'s 3: some source files could not be read). */
  readonly allowExitCodes?: readonly number[];
}

export interface ResticResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/**
 * Checked before every run: restic installed, the password and environment files root's alone. One
 * line (the problems joined), naming the repository and the file, never its content.
 */
export function assertRepositoryUsable(repo: ResticRepository): void {
  const problems = repositoryPreflight(repo);
  if (problems.length)
    throw new BackupError(`backup repository ${repo.name} (${repo.url}): ${problems.join('; ')}`, 'preflight');
}

/** The restic the preflight checked (PATH, absolute entries only), so what runs is what was checked. */
function resticFile(repo: ResticRepository): string {
  assertRepositoryUsable(repo);
  const found = findRestic();
  if (!found) throw new BackupError(`backup repository ${repo.name} (${repo.url}): ${RESTIC_MISSING}`, 'preflight');
  return found;
}

/** Runs `restic <options> args...` against `repo`; a failure becomes a BackupError (one line). */
export async function restic(
  root: string,
  repo: ResticRepository,
  args: readonly string[],
  options: ResticOptions = {},
): Promise<ResticResult> {
  const child = await startRestic(root, repo, args, options);
  return child.result;
}

export interface StartedRestic {
  /** Its stdout, for a command whose output is streamed (`restic dump`). */
  readonly process: ResultPromise;
  readonly pid: number | undefined;
  readonly result: Promise<ResticResult>;
}

/** Starts restic as `restic` does, for callers that stream its stdout; `result` never rejects unhandled. */
export async function startRestic(
  root: string,
  repo: ResticRepository,
  args: readonly string[],
  options: ResticOptions & { readonly stdout?: 'pipe' | 'capture' } = {},
): Promise<StartedRestic> {
  const file = resticFile(repo);
  const { env, secrets } = resticEnvironment(root, repo);
  const { execa } = await import('execa');
  const argv = [...optionArgs(repo), ...args];
  const child = execa(file, argv, {
    argv0: 'restic',
    reject: false,
    timeout: options.timeoutMs ?? 0,
    stdin: 'ignore',
    extendEnv: false,
    shell: false,
    env,
    buffer: options.stdout !== 'pipe',
    maxBuffer: 1 << 30,
  });
  const result = child.then((done) => {
    const exitCode = typeof done.exitCode === 'number' ? done.exitCode : undefined;
    const stdout = options.stdout === 'pipe' ? '' : String(done.stdout ?? '');
    const stderr = String(done.stderr ?? '');
    if (exitCode === 0 || (exitCode !== undefined && options.allowExitCodes?.includes(exitCode)))
      return { stdout, stderr, exitCode };
    throw resticError(repo, argv, stderr, exitCode, done.timedOut ? 'timed out' : (done.signal ?? undefined), secrets);
  });
  result.catch(() => undefined);
  return { process: child, pid: child.pid, result };
}

/** Removes the environment file's values from text restic printed (an echoed credential never reaches a log). */
function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

/**
 * What restic's stderr means, and the fix we offer. The fix is for every caller (push, restore, list, verify):
 * what a failed scheduled push leaves behind is said where pushes are reported (plan's checks), not here.
 */
export function classifyResticError(stderr: string): { failure: BackupFailure; said: string; fix: string } {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const fatal = lines.find((l) => l.startsWith('Fatal: '));
  const ssh = lines.find((l) => l.startsWith('subprocess ssh: '));
  let said = (fatal ?? lines[lines.length - 1] ?? 'restic failed without a message').replace(/^Fatal: /, '');
  said = said.replace(/\s+/g, ' ').slice(0, 300);
  const all = lines.join(' ');
  if (/wrong password or no key found/.test(all))
    return {
      failure: 'wrong-password',
      said: 'wrong password (no key of the repository opens with it)',
      fix: 'put the password this repository was made with in the password file, or point passwordFile at the right file',
    };
  // Only a config file that is plainly absent: a path blocked by a file, a permission or a lost mount is no
  // evidence that there are no backups, and must never make a restore start empty.
  if (
    /unable to open config file: .*(no such file or directory|file does not exist|NoSuchKey|404 Not Found)/i.test(all)
  )
    return {
      failure: 'no-repository',
      said: 'there is no restic repository at that location',
      fix: 'check the repository URL; a push creates the repository (restic init) when its location is reachable',
    };
  if (/repository is already locked/.test(all)) {
    const by = /locked (?:exclusively )?by (PID \d+ on \S+ by [^(]+)/.exec(all)?.[1]?.trim();
    return {
      failure: 'locked',
      said: `the repository is locked by another restic${by ? ` (${by})` : ''}`,
      fix: 'wait for it to finish; if that restic is no longer running, remove its stale lock with restic unlock (RESTIC_REPOSITORY and RESTIC_PASSWORD_FILE set as for this repository), then run again',
    };
  }
  if (/no space left on device|disk quota exceeded|QuotaExceeded|insufficient storage/i.test(all))
    return {
      failure: 'no-space',
      said: 'the repository has no space left',
      fix: 'free space where the repository is, or let remote retention forget old backups (remoteRetentionDays / remoteRetentionCount)',
    };
  if (
    /connection refused|unable to start the sftp session|connection reset|no route to host|network is unreachable|no such host|i\/o timeout|timeout|host key verification failed|permission denied \(publickey|could not resolve hostname|EOF/i.test(
      all,
    )
  )
    return {
      failure: 'unreachable',
      said: `cannot reach it (${(ssh ? ssh.replace(/^subprocess ssh: (ssh: )?/, '') : said).slice(0, 200)})`,
      fix: 'check that the server is up and reachable from this host (network, credentials, sftp.command)',
    };
  return {
    failure: 'other',
    said,
    fix: 'see restic’s message above; run `hoststore backup verify` to check the repository',
  };
}

export function resticError(
  repo: Pick<ResticRepository, 'name' | 'url'>,
  argv: readonly string[],
  stderr: string,
  exitCode: number | undefined,
  killed: string | undefined,
  secrets: readonly string[] = [],
): BackupError {
  const clean = scrub(stderr, secrets);
  const { failure, said, fix } =
    exitCode === undefined && killed
      ? { failure: 'other' as const, said: `restic was stopped (${killed})`, fix: 'run again' }
      : classifyResticError(clean);
  return new BackupError(
    scrub(`backup repository ${repo.name} (${repo.url}): ${said}; ${fix}`, secrets),
    failure,
    [
      `  command:   restic ${argv.join(' ')}`,
      `  exit code: ${exitCode ?? `none (${killed ?? 'killed'})`}`,
      `  stderr:    ${clean.trim().split('\n').join('\n             ') || '(empty)'}`,
    ].join('\n'),
  );
}

/**
 * Opens the repository (reads its config), creating it with `restic init` when nothing is there yet and
 * `create` is set. Any other failure (unreachable, wrong password, locked) is thrown: an unreadable
 * repository is never taken for an empty one.
 */
export async function openRepository(
  root: string,
  repo: ResticRepository,
  options: { readonly create: boolean },
): Promise<'opened' | 'created'> {
  try {
    // A read: no restic lock, so a prune running elsewhere does not make it fail.
    await restic(root, repo, ['cat', 'config', '--no-lock'], { timeoutMs: 300_000 });
    return 'opened';
  } catch (error) {
    if (!(error instanceof BackupError) || error.failure !== 'no-repository' || !options.create) throw error;
  }
  await restic(root, repo, ['init'], { timeoutMs: 300_000 });
  return 'created';
}

/** The JSON documents restic printed, one a line (`--json` on `backup` streams status lines, then a summary). */
export function jsonLines(stdout: string): unknown[] {
  const out: unknown[] = [];
  for (const line of stdout.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) continue;
    try {
      out.push(JSON.parse(trimmed));
    } catch {
      /* a progress fragment cut by a newline; not a document */
    }
  }
  return out;
}

/**
 * `restic dump <id> <path>` streamed into `cp --sparse=always <fifo> <target>`: restic 0.14 restores no
 * holes, cp turns every all-zero block back into one, so the new image's allocation follows its data. The
 * data goes from one process to the other through a FIFO next to the target (node's own pipes are
 * sockets, which cp cannot open), never through this process.
 */
export async function dumpToSparseFile(
  root: string,
  repo: ResticRepository,
  backupId: string,
  pathInBackup: string,
  target: string,
  /** The size the backup says the image has: cp may write no more (RLIMIT_FSIZE), so a lying backup cannot fill the root. */
  maxBytes?: number,
): Promise<void> {
  const file = resticFile(repo);
  const cp = requireTool('cp', 'write a restored image');
  const prlimit = maxBytes === undefined ? undefined : requireTool('prlimit', 'limit a restored image to its size');
  const { env, secrets } = resticEnvironment(root, repo);
  const { spawn } = await import('node:child_process');
  const fifo = `${target}.fifo`;
  await run('mkfifo', ['-m', '600', fifo]);
  const argv = [...optionArgs(repo), 'dump', backupId, pathInBackup];
  const collect = (child: import('node:child_process').ChildProcess) => {
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err = `${err}${d.toString()}`.slice(-65536)));
    return new Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }>((resolve) => {
      child.on('error', (e) => resolve({ code: null, signal: null, err: `${err}${e.message}` }));
      child.on('close', (code, signal) => resolve({ code, signal, err }));
    });
  };
  let writer: number | undefined;
  try {
    const cpArgs = ['--sparse=always', fifo, target];
    const sink = spawn(prlimit ?? cp, prlimit ? [`--fsize=${maxBytes}`, '--', cp, ...cpArgs] : cpArgs, {
      env: { LC_ALL: 'C', PATH: env.PATH },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const copied = collect(sink);
    // Opened read-write, which never blocks on a FIFO; held until restic exits, so cp always finds a writer
    // and sees the end of the data only when restic is done.
    writer = fs.openSync(fifo, fs.constants.O_RDWR);
    const source = spawn(file, argv, { argv0: 'restic', env, stdio: ['ignore', writer, 'pipe'] });
    const dumped = collect(source);
    // cp failing (no space) leaves restic writing into a FIFO nobody reads: stop it.
    void copied.then((c) => c.code !== 0 && source.kill('SIGTERM'));
    const dump = await dumped;
    fs.closeSync(writer);
    writer = undefined;
    if (dump.code !== 0) sink.kill('SIGTERM');
    const copy = await copied;
    if (dump.code !== 0 && !(dump.signal === 'SIGTERM' && copy.code !== 0))
      throw resticError(repo, argv, dump.err, dump.code ?? undefined, dump.signal ?? undefined, secrets);
    if (copy.signal === 'SIGXFSZ' || /File too large/i.test(copy.err))
      throw new BackupError(
        `restoring backup ${backupId.slice(0, 8)} of ${repo.name} into ${target} failed: it holds more than the ${maxBytes} bytes it was pushed as; nothing was kept: run \`hoststore backup verify --read-data\``,
      );
    if (copy.code !== 0) {
      const said = copy.err.trim().split('\n').pop() || `exit code ${copy.code}`;
      const full = /No space/i.test(said);
      throw new BackupError(
        `restoring backup ${backupId.slice(0, 8)} of ${repo.name} into ${target} failed: ${said}${full ? '; free space on the root and try again' : ''}`,
        full ? 'no-space' : 'other',
      );
    }
  } finally {
    if (writer !== undefined) fs.closeSync(writer);
    fs.rmSync(fifo, { force: true });
  }
}
