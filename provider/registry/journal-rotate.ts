/**
 * Moves a journal.log grown past its limit to journal.<n>.log (n = 1 + the highest there), under a small
 * exclusive lock: link then unlink, so no rotated file is ever overwritten and none is ever deleted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { processAlive } from '../host/process-alive.js';

const LOCK = 'journal.rotate.lock';
/** A holder that has not finished in this long is stuck (a rotation takes milliseconds): its lock is broken. */
const STALE_MS = 5 * 60 * 1000;

/** The rotated journals' numbers, from their names (`journal.12.log` → 12). */
export function rotatedNumbers(names: readonly string[]): number[] {
  const numbers: number[] = [];
  for (const name of names) {
    const match = /^journal\.([1-9]\d{0,8})\.log$/.exec(name);
    if (match) numbers.push(Number(match[1]));
  }
  return numbers.sort((a, b) => a - b);
}

/**
 * Rotates `<dir>/journal.log` if it is still over `limit`. Best effort by design: when another process holds
 * the lock it is rotating (or about to), and the next append past the limit tries again.
 */
export function rotateJournal(dir: string, limit: number): void {
  const lock = path.join(dir, LOCK);
  if (!takeLock(lock)) return;
  try {
    const current = path.join(dir, 'journal.log');
    const before = fs.lstatSync(current, { throwIfNoEntry: false });
    // Rotated by another process meanwhile, or not ours to move.
    if (!before || !before.isFile() || before.size <= limit) return;
    let n = (rotatedNumbers(fs.readdirSync(dir)).at(-1) ?? 0) + 1;
    // link() never replaces what is at its target (a file, a planted symlink): on EEXIST take the next number.
    for (;;) {
      try {
        fs.linkSync(current, path.join(dir, `journal.${n}.log`));
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        n += 1;
      }
    }
    const after = fs.lstatSync(current, { throwIfNoEntry: false });
    // Unlink only the file just linked: appenders that still hold it open write into journal.<n>.log, none is lost.
    if (after && after.ino === before.ino && after.dev === before.dev) fs.unlinkSync(current);
    syncDirectory(dir);
  } finally {
    releaseLock(lock);
  }
}

function takeLock(lock: string): boolean {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = fs.openSync(
        lock,
        fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
        0o600,
      );
      try {
        fs.writeSync(fd, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }));
      } finally {
        fs.closeSync(fd);
      }
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!breakIfStale(lock)) return false;
    }
  }
  return false;
}

/**
 * Removes a lock whose holder is gone (killed mid-rotation) or stuck past STALE_MS; true when it did. A lock
 * that is not a regular file is never ours: left alone (nothing rotates until someone removes it).
 */
function breakIfStale(lock: string): boolean {
  let raw: string;
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(lock);
    if (!stat.isFile()) return false;
    const fd = fs.openSync(lock, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      raw = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
  let pid = -1;
  try {
    const holder = JSON.parse(raw) as { pid?: unknown };
    if (Number.isSafeInteger(holder?.pid)) pid = holder.pid as number;
  } catch {
    // Written in one write before anyone reads it: content that does not parse is a torn lock, stale.
  }
  const live = pid > 0 && processAlive(pid) && Date.now() - stat.mtimeMs < STALE_MS;
  // A very young unparsable lock may be one being written this instant: leave it to its holder.
  if (live || (pid === -1 && raw === '' && Date.now() - stat.mtimeMs < 1000)) return false;
  // Rename aside, then check it is what was judged stale (another process may have broken it and taken a fresh one).
  const aside = `${lock}.stale.${process.pid}`;
  try {
    fs.renameSync(lock, aside);
  } catch {
    return false;
  }
  if (fs.readFileSync(aside, 'utf8') !== raw) {
    try {
      fs.linkSync(aside, lock);
    } catch {
      /* taken again meanwhile; the fresh holder keeps it */
    }
    fs.rmSync(aside, { force: true });
    return false;
  }
  fs.rmSync(aside, { force: true });
  return true;
}

function releaseLock(lock: string): void {
  try {
    const holder = JSON.parse(fs.readFileSync(lock, 'utf8')) as { pid?: number };
    if (holder.pid === process.pid) fs.unlinkSync(lock);
  } catch {
    /* already gone */
  }
}

/** The rename is durable only once the directory is: synced after a rotation. */
function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
