/**
 * The thaw guard of a filesystem about to be frozen: a detached `xargs fsfreeze --unfreeze MOUNTPOINT`
 * reading a pipe only this process holds. If this process dies while the filesystem is frozen (kill -9,
 * Ctrl-C, its process group killed), the kernel closes the pipe, xargs reads end-of-file and thaws it.
 * Best effort: where it cannot start (no xargs or fsfreeze), freezing goes on without it.
 */
import { spawn } from 'node:child_process';
import { findTool } from '../exec.js';

const THAW_TIMEOUT_MS = 30_000;

export interface ThawGuard {
  /**
   * Thaws now, through the guard (it is ready, so no process is spawned from this one inside the
   * window); true when its fsfreeze --unfreeze succeeded. The guard is used up either way.
   */
  thaw(): Promise<boolean>;
  /** Stops the guard without thawing. */
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
  if (!xargs || !fsfreeze) return { thaw: () => Promise.resolve(false), stop: () => undefined };
  // Its own session: a Ctrl-C or a kill of hoststore's process group does not reach it.
  const child = spawn(xargs, [fsfreeze, '--unfreeze', mountpoint], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false));
    child.once('spawn', () => resolve(true));
  });
  child.stdin?.on('error', () => undefined);
  child.unref();
  return {
    thaw: async () => {
      if (!started || child.exitCode !== null || child.signalCode !== null) return false;
      // Held by the event loop until it exits: the caller goes on only after the thaw.
      child.ref();
      child.stdin?.end();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), THAW_TIMEOUT_MS)));
      const code = await Promise.race([exited, late]).finally(() => clearTimeout(timer));
      if (code === 'late') child.kill('SIGKILL');
      // xargs exits 0 when its command did, 123 when it failed.
      return code === 0;
    },
    stop: () => {
      // Killed before its pipe closes, so it never runs the thaw: by then the filesystem may be frozen
      // again, by someone else.
      if (started) child.kill('SIGKILL');
      child.stdin?.destroy();
    },
  };
}
