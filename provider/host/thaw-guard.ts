/**
 * Run detached by `withFrozen` while a filesystem is frozen: if the hoststore process that froze it dies
 * (kill -9, Ctrl-C, its process group killed) before thawing, this thaws it, so no writer hangs forever.
 * Usage: node thaw-guard.js FSFREEZE MOUNTPOINT PID. The freezer stops it (SIGTERM) once it has thawed.
 */
import { execFileSync } from 'node:child_process';

const [fsfreeze, mountpoint, pidText] = process.argv.slice(2);
const pid = Number(pidText);

function alive(): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

if (fsfreeze && mountpoint && Number.isSafeInteger(pid) && pid > 0) {
  // The freezer waits for this line before freezing: the guard is watching from then on.
  process.stdout.write('watching\n');
  const timer = setInterval(() => {
    if (alive()) return;
    clearInterval(timer);
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      try {
        execFileSync(fsfreeze, ['--unfreeze', mountpoint], { stdio: 'ignore', timeout: 30_000 });
        return;
      } catch {
        // Not frozen (the freezer thawed before it died): nothing to do. Else retry.
        if (attempt === 3) return;
      }
    }
  }, 50);
}
