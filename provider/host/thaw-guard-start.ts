/**
 * The thaw guard of a filesystem about to be frozen: a detached `xargs fsfreeze --unfreeze MOUNTPOINT`
 * reading a pipe only this process holds. If this process dies while the filesystem is frozen (kill -9,
 * Ctrl-C, its process group killed), the kernel closes the pipe, xargs reads end-of-file and thaws it.
 * Best effort: where it cannot start (no xargs or fsfreeze), freezing goes on without it.
 */
import { spawn } from 'node:child_process';
import { findTool } from '../exec.js';

export interface ThawGuard {
  stop(): void;
}

/**
 * Starts the guard and resolves once it runs (a few ms: a small binary, where a Node guard took 180 to
 * 300 ms to start on this VM, which the freeze window used to include). xargs with no input runs its
 * command once, at end-of-file; the pipe is close-on-exec, so no other child keeps it open.
 */
export async function startThawGuard(mountpoint: string): Promise<ThawGuard> {
  const xargs = findTool('xargs');
  const fsfreeze = findTool('fsfreeze');
  if (!xargs || !fsfreeze) return { stop: () => undefined };
  // Its own session: a Ctrl-C or a kill of hoststore's process group does not reach it.
  const child = spawn(xargs, [fsfreeze, '--unfreeze', mountpoint], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const started = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false));
    child.once('spawn', () => resolve(true));
  });
  child.stdin?.on('error', () => undefined);
  child.unref();
  return {
    stop: () => {
      // Killed before its pipe closes, so it never runs the thaw: by then the filesystem may be frozen
      // again, by someone else.
      if (started) child.kill('SIGKILL');
      child.stdin?.destroy();
    },
  };
}
