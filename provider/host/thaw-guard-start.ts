/**
 * Starts the detached thaw guard (thaw-guard.ts) for a filesystem about to be frozen, and waits until it
 * watches. Best effort: where it cannot start (no built guard next to this module), freezing goes on.
 */
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findTool } from '../exec.js';

export interface ThawGuard {
  stop(): void;
}

export async function startThawGuard(mountpoint: string): Promise<ThawGuard> {
  const script = fileURLToPath(new URL('./thaw-guard.js', import.meta.url));
  const fsfreeze = findTool('fsfreeze');
  if (!fsfreeze || !fs.existsSync(script)) return { stop: () => undefined };
  // Its own session: a Ctrl-C or a kill of hoststore's process group does not reach it.
  const child = spawn(process.execPath, [script, fsfreeze, mountpoint, String(process.pid)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const started = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false));
    child.once('exit', () => resolve(false));
    child.stdout?.once('data', () => resolve(true));
  });
  child.stdout?.destroy();
  child.unref();
  return {
    stop: () => {
      if (started) child.kill('SIGTERM');
    },
  };
}
