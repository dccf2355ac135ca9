/**
 * One lock per root, so two deploys (or Terraform's parallel provisioners) change the host one at a
 * time. The lock is a file created exclusively; it names its holder so a waiter that gives up can say who.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { noSpaceError } from './no-space.js';
import { HoststoreError, LockTimeoutError } from '../errors.js';
import { checkRootTrust, makeRootDirectory } from '../host/root-trust.js';
import { assertPoolMounted } from '../host/pool-guard.js';
import { processAlive } from '../host/process-alive.js';

export interface LockHolder {
  readonly pid: number;
  readonly holder: string;
  readonly since: string;
}

export interface LockOptions {
  /** How long to wait for another holder before failing. @default HOSTSTORE_LOCK_TIMEOUT_MS or 120000 */
  readonly timeoutMs?: number;
  /** What this process is doing, shown to whoever waits for it. */
  readonly holder: string;
  /** Called once if the lock is held by another when first tried (a plan says that it waited, and for whom). */
  readonly onWait?: (holder: LockHolder | undefined) => void;
}

const POLL_MS = 25;

export function lockPath(root: string): string {
  return path.join(root, 'registry', 'lock');
}

function defaultTimeout(): number {
  const fromEnv = Number(process.env.HOSTSTORE_LOCK_TIMEOUT_MS);
  return Number.isFinite(fromEnv) && fromEnv >= 0 ? fromEnv : 120_000;
}

export function readLockHolder(root: string): LockHolder | undefined {
  return readHolderAt(lockPath(root));
}

function readHolderAt(file: string): LockHolder | undefined {
  try {
    const holder: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    // A lock file changed by hand into null or a bare value names no holder.
    return typeof holder === 'object' && holder !== null && !Array.isArray(holder) ? (holder as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

function tryAcquire(file: string, me: LockHolder): boolean {
  // Write the whole record first, then link it into place: link() fails if the lock exists, and a
  // reader never sees a half-written holder.
  // Created exclusively under an unpredictable name, never through a symlink.
  const tmp = `${file}.${me.pid}.${randomBytes(8).toString('hex')}`;
  try {
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
  } catch (error) {
    // A full root fails the write after the open made the file: leave no temporary behind.
    fs.rmSync(tmp, { force: true });
    throw noSpaceError(error, file, 'the lock was not taken and nothing was changed') ?? error;
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

/** Removes a lock whose holder process is gone (killed mid-deploy), only if it is still that holder's. */
function breakIfStale(file: string): void {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch {
    return;
  }
  let holder: LockHolder;
  try {
    holder = JSON.parse(raw) as LockHolder;
  } catch {
    // A lock is written before it is linked, so unparsable content is not a live holder's.
    holder = { pid: -1, holder: 'unknown', since: '' };
  }
  // Nor is content that is not a holder at all (null, a number: a lock file changed by hand).
  if (typeof holder !== 'object' || holder === null || !Number.isSafeInteger(holder.pid))
    holder = { pid: -1, holder: 'unknown', since: '' };
  if (holder.pid > 0 && processAlive(holder.pid)) return;
  const aside = `${file}.stale.${process.pid}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return;
  }
  // Between our read and the rename another waiter may have broken the stale lock and taken a fresh
  // one; if what we moved aside is not what we judged stale, put it back.
  if (fs.readFileSync(aside, 'utf8') !== raw) {
    try {
      fs.linkSync(aside, file);
    } catch {
      /* the lock was taken again meanwhile; the fresh holder keeps it */
    }
  }
  fs.rmSync(aside, { force: true });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Refuses a lock path that is not a regular file (a directory, a symlink, a device): hoststore never makes
 * one, no holder will ever release it, and waiting out the timeout would only hide that.
 */
function assertLockIsAFile(file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    return;
  }
  if (stat.isFile()) return;
  const what = stat.isDirectory() ? 'a directory' : stat.isSymbolicLink() ? 'a symbolic link' : 'not a regular file';
  const remove = stat.isDirectory() ? `rmdir ${file}` : `rm ${file}`;
  throw new HoststoreError(
    `the lock ${file} is ${what}, not a lock file hoststore made, so no holder will ever release it; nothing was changed. Remove it (${remove}) if nothing else uses it, then run again`,
  );
}

/** What process `pid` runs now (its command line), to tell a hoststore holder from a reused pid. */
function commandOf(pid: number): string | undefined {
  try {
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return args.length ? args.join(' ').slice(0, 160) : undefined;
  } catch {
    return undefined;
  }
}

/** The one line a waiter that gave up prints: who holds the lock, since when, and how to clear it if that is no hoststore. */
function lockedMessage(root: string, file: string, holder: LockHolder | undefined, waitedMs: number): string {
  if (!holder) {
    return `the hoststore root ${root} is locked (${file} could not be read); gave up after ${waitedMs} ms. If no hoststore is running on this root, remove ${file}`;
  }
  const command = commandOf(holder.pid);
  const runs = command ? `pid ${holder.pid} runs \`${command}\`` : `pid ${holder.pid}`;
  return `the hoststore root ${root} is locked by ${holder.holder} (pid ${holder.pid}, since ${holder.since}); gave up after ${waitedMs} ms. ${runs}: wait for it to finish, or if that is not a hoststore, remove ${file}`;
}

/** Runs `fn` holding the root's lock; waits a bounded time for another holder, then fails naming it. */
export async function withRootLock<T>(root: string, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  const file = lockPath(root);
  // A pool root whose pool is not mounted (after a reboot, before `hoststore up`) is a bare directory.
  assertPoolMounted(root);
  // Every change starts here: refuse a root that someone other than root could change under us.
  checkRootTrust(root);
  makeRootDirectory(root, path.dirname(file));
  return withLockFile(
    file,
    options,
    (holder, waitedMs) => new LockTimeoutError(lockedMessage(root, file, holder, waitedMs)),
    fn,
  );
}

/**
 * Runs `fn` holding the lock file `file` (its directory already made and trusted): a holder record linked
 * into place exclusively, broken when its process is gone, removed after `fn` if it is still ours. Waits up
 * to the timeout (0: one try, after breaking a stale lock), then throws what `timedOut` makes of the holder.
 */
export async function withLockFile<T>(
  file: string,
  options: LockOptions,
  timedOut: (holder: LockHolder | undefined, waitedMs: number) => Error,
  fn: () => Promise<T>,
): Promise<T> {
  const me: LockHolder = { pid: process.pid, holder: options.holder, since: new Date().toISOString() };
  const timeoutMs = options.timeoutMs ?? defaultTimeout();
  const deadline = Date.now() + timeoutMs;
  let waited = false;
  while (!tryAcquire(file, me)) {
    assertLockIsAFile(file);
    if (!waited) {
      waited = true;
      options.onWait?.(readHolderAt(file));
    }
    breakIfStale(file);
    if (tryAcquire(file, me)) break;
    if (Date.now() >= deadline) throw timedOut(readHolderAt(file), timeoutMs);
    await sleep(POLL_MS);
  }
  try {
    return await fn();
  } finally {
    const current = readHolderAt(file);
    if (current && current.pid === me.pid && current.since === me.since) fs.rmSync(file, { force: true });
  }
}
