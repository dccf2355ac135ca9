/**
 * One lock per root, so two deploys (or Terraform's parallel provisioners) change the host one at a
 * time. The lock is a file created exclusively; it names its holder so a waiter that gives up can say who.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LockTimeoutError } from '../errors.js';
import { assertPoolMounted } from '../host/pool-guard.js';

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
}

const POLL_MS = 25;

export function lockPath(root: string): string {
  return path.join(root, 'registry', 'lock');
}

function defaultTimeout(): number {
  const fromEnv = Number(process.env.HOSTSTORE_LOCK_TIMEOUT_MS);
  return Number.isFinite(fromEnv) && fromEnv >= 0 ? fromEnv : 120_000;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readLockHolder(root: string): LockHolder | undefined {
  try {
    return JSON.parse(fs.readFileSync(lockPath(root), 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

function tryAcquire(file: string, me: LockHolder): boolean {
  // Write the whole record first, then link it into place: link() fails if the lock exists, and a
  // reader never sees a half-written holder.
  const tmp = `${file}.${me.pid}.${Date.now()}`;
  fs.writeFileSync(tmp, JSON.stringify(me));
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

/** Runs `fn` holding the root's lock; waits a bounded time for another holder, then fails naming it. */
export async function withRootLock<T>(root: string, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  const file = lockPath(root);
  assertPoolMounted(root);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const me: LockHolder = { pid: process.pid, holder: options.holder, since: new Date().toISOString() };
  const deadline = Date.now() + (options.timeoutMs ?? defaultTimeout());
  while (!tryAcquire(file, me)) {
    breakIfStale(file);
    if (Date.now() >= deadline) {
      const holder = readLockHolder(root);
      const who = holder ? `${holder.holder} (pid ${holder.pid}, since ${holder.since})` : 'another process';
      throw new LockTimeoutError(`the hoststore root ${root} is locked by ${who}; gave up after ${options.timeoutMs ?? defaultTimeout()} ms`);
    }
    await sleep(POLL_MS);
  }
  try {
    return await fn();
  } finally {
    const current = readLockHolder(root);
    if (current && current.pid === me.pid && current.since === me.since) fs.rmSync(file, { force: true });
  }
}
