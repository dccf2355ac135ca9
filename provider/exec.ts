/**
 * The one module that runs external commands: execa with argument arrays, never a shell. execa is
 * ESM-only and costs ~90 ms to load, so it is imported on first use; a handler that finds nothing to do
 * never loads it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HoststoreError } from './errors.js';

/** The Debian package that provides each tool we run, for "install X" messages. */
export const PACKAGE_OF: Readonly<Record<string, string>> = {
  'mkfs.ext4': 'e2fsprogs',
  e2fsck: 'e2fsprogs',
  resize2fs: 'e2fsprogs',
  filefrag: 'e2fsprogs',
  chattr: 'e2fsprogs',
  lsattr: 'e2fsprogs',
  'mkfs.xfs': 'xfsprogs',
  xfs_growfs: 'xfsprogs',
  'mkfs.btrfs': 'btrfs-progs',
  btrfs: 'btrfs-progs',
  // On Debian, losetup/mount/umount ship in 'mount'; blkid, findmnt, fsfreeze and fallocate in 'util-linux'.
  losetup: 'mount',
  mount: 'mount',
  umount: 'mount',
  blkid: 'util-linux',
  findmnt: 'util-linux',
  fsfreeze: 'util-linux',
  fallocate: 'util-linux',
  cp: 'coreutils',
};

/**
 * A command that failed. `message` (also `summary`) is one line; `detail` holds the command, its exit
 * code and stderr. `exitCode` stays the CLI's exit status (1, from HoststoreError) so that a tool's own
 * code (e2fsck's 4, mount's 32) is never mistaken for one of ours; the tool's code is `commandExitCode`.
 */
export class CommandError extends HoststoreError {
  declare readonly detail: string;

  constructor(
    summary: string,
    readonly command: readonly string[],
    readonly commandExitCode: number | undefined,
    readonly stderr: string,
    readonly signal?: string,
  ) {
    super(
      summary,
      [
        `  command:   ${command.map(quoteForDisplay).join(' ')}`,
        `  exit code: ${commandExitCode ?? `none (${signal ? `killed by ${signal}` : 'killed or not started'})`}`,
        `  stderr:    ${stderr.trim().split('\n').join('\n             ') || '(empty)'}`,
      ].join('\n'),
    );
    this.name = 'CommandError';
  }

  get summary(): string {
    return this.message;
  }

  /** The summary followed by the detail, for logs and test failures. */
  describe(): string {
    return `${this.message}\n${this.detail}`;
  }
}

/** A tool we need is not installed; names the Debian package that provides it. */
export class MissingToolError extends HoststoreError {
  readonly debianPackage: string;

  constructor(
    readonly tool: string,
    readonly purpose: string,
  ) {
    const pkg = PACKAGE_OF[tool] ?? tool;
    super(
      `${tool} is not installed, so hoststore cannot ${purpose}; install the Debian package '${pkg}' (apt-get install ${pkg})`,
    );
    this.debianPackage = pkg;
    this.name = 'MissingToolError';
  }
}

function quoteForDisplay(arg: string): string {
  return /^[A-Za-z0-9_./=:,@+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/**
 * Finds a tool without spawning anything: PATH, then the sbin directories a non-login PATH often lacks.
 * HOSTSTORE_TOOL_PATH (colon-separated) replaces the whole search path; tests use it to hide a tool.
 * A name with a slash is taken as a path.
 */
export function findTool(name: string): string | undefined {
  if (name.includes('/')) return isExecutableFile(name) ? name : undefined;
  const override = process.env.HOSTSTORE_TOOL_PATH;
  const searchPath = override !== undefined ? override : `${process.env.PATH ?? ''}:${SYSTEM_DIRS.join(':')}`;
  // Provisioning looks the same few tools up for every disk; a hit is remembered for this search path
  // while the file is still an executable file (no walk over PATH), a miss never is.
  const key = `${name}\0${searchPath}`;
  const known = foundTools.get(key);
  if (known !== undefined && isExecutableFile(known)) return known;
  for (const dir of searchPath.split(':')) {
    if (!dir || !path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) {
      foundTools.set(key, candidate);
      return candidate;
    }
  }
  foundTools.delete(key);
  return undefined;
}

const foundTools = new Map<string, string>();

function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export function requireTool(name: string, purpose: string): string {
  const found = findTool(name);
  if (!found) throw new MissingToolError(name, purpose);
  return found;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export interface RunOptions {
  /** Default 5 minutes; the command is killed (SIGTERM) after it. */
  readonly timeoutMs?: number;
  /** Exit codes that are not failures (e.g. e2fsck's 1 = "errors corrected"). */
  readonly allowExitCodes?: readonly number[];
  /**
   * 'discard' sends stdout to /dev/null (stderr, which every failure message comes from, is always kept):
   * one pipe less per spawn on the provisioning path. @default 'capture'
   */
  readonly stdout?: 'capture' | 'discard';
  /**
   * Keep this process's event loop running while the command runs, for a command that overlaps other
   * work (a snapshot's copy while its checksum is computed). Otherwise the command runs synchronously
   * (execaSync): the handlers run their commands one at a time anyway, and the synchronous path skips
   * execa's stream machinery, which costs a few milliseconds a spawn on a small VM. @default false
   */
  readonly concurrent?: boolean;
}

/**
 * Runs `tool args...` (tool found with findTool, so a missing one is a MissingToolError) with no shell,
 * no stdin and a C locale, and fails with a CommandError on any exit code not 0 or allowed.
 */
export async function run(tool: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const file = requireTool(tool, `run ${tool}`);
  const { execa, execaSync } = await import('execa');
  // argv0 is the bare name, so messages read "mount: ..." rather than "/usr/bin/mount: ...".
  // A minimal environment (C locale for parseable messages) also keeps execa's per-spawn cost down.
  const common = {
    argv0: path.basename(file),
    reject: false,
    timeout: options.timeoutMs ?? 300_000,
    stdin: 'ignore',
    extendEnv: false,
    shell: false,
    stdout: options.stdout === 'discard' ? 'ignore' : 'pipe',
    env: { LC_ALL: 'C', PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
  } as const;
  // On the async path, cleanup: false skips execa's per-call exit-signal hooks (about 0.7 ms a spawn
  // here), which nothing relies on: a SIGKILLed process gets no cleanup either, and the one concurrent
  // command (a snapshot's cp) leaves only a partial copy that the failed snapshot removes.
  const result = options.concurrent
    ? await execa(file, [...args], { ...common, cleanup: false })
    : execaSync(file, [...args], common);
  const exitCode = typeof result.exitCode === 'number' ? result.exitCode : undefined;
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  if (exitCode === 0 || (exitCode !== undefined && options.allowExitCodes?.includes(exitCode))) {
    return { stdout, stderr, exitCode };
  }
  const name = path.basename(file);
  let reason = headline(name, stderr);
  if (result.timedOut) reason = `timed out after ${options.timeoutMs ?? 300_000} ms${reason ? ` (${reason})` : ''}`;
  else if (exitCode === undefined) reason = `killed by ${result.signal ?? 'a signal'}${reason ? ` (${reason})` : ''}`;
  else if (!reason) reason = `exit code ${exitCode}`;
  throw new CommandError(`${tool} failed: ${reason}`, [file, ...args], exitCode, stderr, result.signal ?? undefined);
}

/**
 * The stderr line that says what went wrong: tools prefix it with their name ("mount: /x: wrong fs type"),
 * while banners ("resize2fs 1.47.0") and hints ("dmesg(1) may have more information") do not.
 */
function headline(name: string, stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const named = lines.find((l) => l.startsWith(`${name}:`));
  return (named ?? lines[lines.length - 1] ?? '').slice(0, 300);
}

/**
 * Starts `tool args...` as `run` does (no shell, C locale, `concurrent`), but with its stdin a pipe the
 * caller writes and ends: for a command fed data as it streams by (a snapshot's digest). `result`
 * settles as `run` would once the command exits; it never rejects unhandled.
 */
export async function runFed(
  tool: string,
  args: readonly string[],
  options: Pick<RunOptions, 'timeoutMs'> = {},
): Promise<{ stdin: NodeJS.WritableStream & { destroy(): void }; result: Promise<RunResult> }> {
  const file = requireTool(tool, `run ${tool}`);
  const { execa } = await import('execa');
  const timeout = options.timeoutMs ?? 300_000;
  const child = execa(file, [...args], {
    argv0: path.basename(file),
    reject: false,
    timeout,
    stdin: 'pipe',
    extendEnv: false,
    shell: false,
    cleanup: false,
    env: { LC_ALL: 'C', PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  const result = child.then((done) => {
    const exitCode = typeof done.exitCode === 'number' ? done.exitCode : undefined;
    const stdout = String(done.stdout ?? '');
    const stderr = String(done.stderr ?? '');
    if (exitCode === 0) return { stdout, stderr, exitCode };
    let reason = headline(path.basename(file), stderr);
    if (done.timedOut) reason = `timed out after ${timeout} ms${reason ? ` (${reason})` : ''}`;
    else if (exitCode === undefined) reason = `killed by ${done.signal ?? 'a signal'}${reason ? ` (${reason})` : ''}`;
    else if (!reason) reason = `exit code ${exitCode}`;
    throw new CommandError(`${tool} failed: ${reason}`, [file, ...args], exitCode, stderr, done.signal ?? undefined);
  });
  result.catch(() => undefined);
  return { stdin: child.stdin, result };
}
