/** Freezing a mounted filesystem for the instant of a snapshot; always thawed, even when the work fails. */
import { CommandError, run } from '../exec.js';
import { HoststoreError } from '../errors.js';
import { startThawGuard } from './thaw-guard-start.js';

/**
 * Runs `fn` with the filesystem at `mountpoint` frozen (writers block, the on-disk state is consistent),
 * its dirty data flushed first;
 * `fn` gets the time (Date.now()) the freeze began. The thaw runs in `finally` and is retried, since a
 * filesystem left frozen hangs every writer; if `fn` failed its error wins over a thaw error.
 * `onWindow` is told how long writers could have been blocked: from just before the freeze command to
 * just after the thaw command returned (an upper bound), whether or not `fn` succeeded.
 */
export async function withFrozen<T>(
  mountpoint: string,
  fn: (frozenAt: number) => Promise<T>,
  onWindow?: (frozenMs: number) => void,
): Promise<T> {
  // A process killed while the filesystem is frozen runs no `finally`: a detached guard thaws it then.
  // It is started before the window opens, while what the freeze would flush as writers wait is
  // flushed (sync -f) as they still write.
  const [guard] = await Promise.all([
    startThawGuard(mountpoint),
    run('sync', ['-f', mountpoint], { concurrent: true }).catch(() => undefined),
  ]);
  let frozenAt: number | undefined;
  try {
    try {
      frozenAt = Date.now();
      await run('fsfreeze', ['--freeze', mountpoint], { timeoutMs: 60_000 });
    } catch (error) {
      // Already frozen by someone else (their backup, an LVM snapshot): their freeze is theirs to end.
      if (error instanceof CommandError && /resource busy/i.test(error.stderr)) {
        frozenAt = undefined;
        throw new HoststoreError(
          `${mountpoint} is already frozen by another process (fsfreeze --freeze); no snapshot was taken and hoststore left that freeze alone; wait for its owner to thaw it, or thaw it yourself (fsfreeze --unfreeze ${mountpoint}) and run again`,
        );
      }
      // The command may have failed (or been killed by its timeout) after the kernel froze the
      // filesystem: thaw anyway; thawing a filesystem that is not frozen only fails, harmlessly.
      await run('fsfreeze', ['--unfreeze', mountpoint], { timeoutMs: 30_000 }).catch(() => undefined);
      throw error;
    }
    let failed = false;
    try {
      return await fn(frozenAt);
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // Through the guard, else (it failed or is missing) by fsfreeze from here, retried.
      if (!(await guard.thaw()))
        await thaw(mountpoint).catch((error: unknown) => {
          if (!failed) throw error;
        });
    }
  } finally {
    if (frozenAt !== undefined) onWindow?.(Date.now() - frozenAt);
    guard.stop();
  }
}

async function thaw(mountpoint: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await run('fsfreeze', ['--unfreeze', mountpoint], { timeoutMs: 30_000 });
      return;
    } catch (error) {
      if (attempt >= 3) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}
