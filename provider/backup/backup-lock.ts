/**
 * One push at a time per root (`<root>/registry/backup.lock`), apart from the root lock: a push takes
 * minutes and deploys must not wait for it. The same lock file mechanics as the root's (registry/lock.ts).
 */
import * as path from 'node:path';
import { AsyncLocalStorage } from 'node:async_hooks';
import { LockTimeoutError } from '../errors.js';
import { checkRootTrust, makeRootDirectory } from '../host/root-trust.js';
import { withLockFile, type LockHolder } from '../registry/lock.js';

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

/**
 * Roots whose backup lock the current async call chain holds: a push inside a run that holds it does not
 * wait for itself, while another, concurrent task of this process still waits its turn.
 */
const held = new AsyncLocalStorage<ReadonlySet<string>>();

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
  return withLockFile(
    file,
    { holder, timeoutMs: options.timeoutMs },
    (other) =>
      new BackupLockedError(
        other
          ? `another push runs on ${root}: ${other.holder} (pid ${other.pid}, since ${other.since}); wait for it to finish (its lock is ${file})`
          : `another push runs on ${root} (${file}); wait for it to finish, or remove ${file} if no hoststore runs`,
        other,
      ),
    () => held.run(new Set([...(held.getStore() ?? []), root]), fn),
  );
}
