/**
 * One push at a time per root (`<root>/registry/backup.lock`), apart from the root lock: a push takes
 * minutes and deploys must not wait for it. Built like registry/lock.ts: a holder record linked into place
 * exclusively, broken when its process is gone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { AsyncLocalStorage } from 'node:async_hooks';
import { LockTimeoutError } from '../errors.js';
import { checkRootTrust, makeRootDirectory } from '../host/root-trust.js';
import { processAlive } from '../host/process-alive.js';
import type { LockHolder } from '../registry/lock.js';

export function backupLockPath(root: string): string {
  return path.join(root, 'registry', 'backup.lock');
}

/** Another push holds the backup lock past the wait (exit 4, as a held root lock). */
export class BackupLockedError extends LockTimeoutError {
  constructor(
    message: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(message);
    this.name = 'BackupLockedError';
  }
}

function readHolder(file: string): { raw: string; holder: LockHolder | undefined } | undefined {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const holder = JSON.parse(raw) as LockHolder;
    return { raw, holder: holder && Number.isSafeInteger(holder.pid) ? holder : undefined };
  } catch {
    return { raw, holder: undefined };
  }
}

function tryAcquire(file: string, me: LockHolder): boolean {
  const tmp = `${file}.${me.pid}.${randomBytes(8).toString('hex')}`;
  const fd = fs.openSync(
    tmp,
    fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
    0o600,
  );
  try {
    fs.writeSync(fd, JSON.stringify(me));
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Removes the lock when its holder process is gone (a push killed with -9), only if it is still that one. */
function breakIfStale(file: string): void {
  const seen = readHolder(file);
  if (!seen) return;
  if (seen.holder && seen.holder.pid > 0 && processAlive(seen.holder.pid)) return;
  const aside = `${file}.stale.${process.pid}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return;
  }
  if (fs.readFileSync(aside, 'utf8') !== seen.raw) {
    try {
      fs.linkSync(aside, file);
    } catch {
      /* taken again meanwhile: the fresh holder keeps it */
    }
  }
  fs.rmSync(aside, { force: true });
}

function defaultTimeout(): number {
  const fromEnv = Number(process.env.HOSTSTORE_LOCK_TIMEOUT_MS);
  return Number.isFinite(fromEnv) && fromEnv >= 0 ? fromEnv : 120_000;
}

/**
 * Roots whose backup lock the current async call chain holds: a push inside a run that holds it does not
 * wait for itself, while another, concurrent task of this process still waits its turn.
 */
const held = new AsyncLocalStorage<ReadonlySet<string>>();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` holding the root's backup lock; waits up to `timeoutMs` (default HOSTSTORE_LOCK_TIMEOUT_MS or
 * 120 s; run-due passes 0 and leaves the push to the next run) for another push, then fails naming it.
 * Re-entrant within a process: pushSnapshot takes it, and so may its caller around several pushes.
 */
export async function withBackupLock<T>(
  root: string,
  holder: string,
  fn: () => Promise<T>,
  options: { readonly timeoutMs?: number } = {},
): Promise<T> {
  if (held.getStore()?.has(root)) return fn();
  checkRootTrust(root);
  const file = backupLockPath(root);
  makeRootDirectory(root, path.dirname(file));
  const me: LockHolder = { pid: process.pid, holder, since: new Date().toISOString() };
  const timeoutMs = options.timeoutMs ?? defaultTimeout();
  const deadline = Date.now() + timeoutMs;
  while (!tryAcquire(file, me)) {
    breakIfStale(file);
    if (tryAcquire(file, me)) break;
    if (Date.now() >= deadline) {
      const other = readHolder(file)?.holder;
      throw new BackupLockedError(
        other
          ? `another push runs on ${root}: ${other.holder} (pid ${other.pid}, since ${other.since}); wait for it to finish (its lock is ${file})`
          : `another push runs on ${root} (${file}); wait for it to finish, or remove ${file} if no hoststore runs`,
        other,
      );
    }
    await sleep(100);
  }
  try {
    return await held.run(new Set([...(held.getStore() ?? []), root]), fn);
  } finally {
    const current = readHolder(file)?.holder;
    if (current && current.pid === me.pid && current.since === me.since) fs.rmSync(file, { force: true });
  }
}
