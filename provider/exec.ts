/**
 * The one module that runs external commands: execa with argument arrays, never a shell. execa is
 * ESM-only and costs ~90 ms to load, so it is imported on first use; a handler that finds nothing to do
 * never loads it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HoststoreError } from './errors.js';

/** The Debian package that provides each tool we run, for "install X" messages. */
const PACKAGE_OF: Record<string, string> = {
  'mkfs.ext4': 'e2fsprogs', e2fsck: 'e2fsprogs', resize2fs: 'e2fsprogs',
  'mkfs.xfs': 'xfsprogs', xfs_growfs: 'xfsprogs',
  'mkfs.btrfs': 'btrfs-progs', btrfs: 'btrfs-progs',
  losetup: 'mount', mount: 'mount', umount: 'mount',
  blkid: 'util-linux', fsfreeze: 'util-linux', cp: 'coreutils',
};

/** A command that failed: a one-line summary, and a detail with the command, its exit code and stderr. */
export class CommandError extends HoststoreError {
  constructor(
    summary: string,
    readonly command: readonly string[],
    readonly commandExitCode: number | undefined,
    readonly stderr: string,
  ) {
    super(summary, 1, [
      `  command:   ${command.map(quoteForDisplay).join(' ')}`,
      `  exit code: ${commandExitCode ?? 'none (killed or not started)'}`,
      `  stderr:    ${stderr.trim().split('\n').join('\n             ') || '(empty)'}`,
    ].join('\n'));
    this.name = 'CommandError';
  }
}

export class MissingToolError extends HoststoreError {
  constructor(readonly tool: string, readonly purpose: string) {
    super(`${tool} is not installed, so hoststore cannot ${purpose}; install the Debian package '${PACKAGE_OF[tool] ?? tool}' (apt-get install ${PACKAGE_OF[tool] ?? tool})`);
    this.name = 'MissingToolError';
  }
}

function quoteForDisplay(arg: string): string {
  return /^[A-Za-z0-9_./=:,@+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Finds a tool without spawning anything. HOSTSTORE_TOOL_PATH replaces the search path (tests use it). */
export function findTool(name: string): string | undefined {
  const override = process.env.HOSTSTORE_TOOL_PATH;
  const dirs = override !== undefined ? override.split(':') : [...(process.env.PATH ?? '').split(':'), ...SYSTEM_DIRS];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
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
  readonly timeoutMs?: number;
  /** Exit codes that are not failures (e.g. e2fsck's 1 = "errors corrected"). */
  readonly allowExitCodes?: readonly number[];
}

/** Runs `tool args...` (tool looked up with findTool) and fails with a CommandError on a bad exit. */
export async function run(tool: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const file = requireTool(tool, `run ${tool}`);
  const { execa } = await import('execa');
  // A minimal environment (C locale for parseable messages) also keeps execa's per-spawn cost down.
  const result = await execa(file, [...args], {
    reject: false, timeout: options.timeoutMs ?? 300_000, stdin: 'ignore', extendEnv: false,
    env: { LC_ALL: 'C', PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  const exitCode = typeof result.exitCode === 'number' ? result.exitCode : -1;
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  if (exitCode === 0 || options.allowExitCodes?.includes(exitCode)) return { stdout, stderr, exitCode };
  const firstLine = (stderr.trim().split('\n').pop() ?? '').trim() || (result.timedOut ? 'timed out' : `exit code ${exitCode}`);
  throw new CommandError(`${tool} failed: ${firstLine}`, [file, ...args], typeof result.exitCode === 'number' ? result.exitCode : undefined, stderr);
}
