/**
 * Space for a snapshot on the root's filesystem: what a copy needs, what is free, and the one line a
 * user gets when it does not fit (checked before copying, and when the copy or its record hits ENOSPC).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HoststoreError } from '../errors.js';
import { CommandError } from '../exec.js';
import { commandHint } from '../command-hint.js';

/** Bytes a sparse copy of `source` writes: its allocated blocks (a tree: every file's and directory's). */
export function allocatedBytes(source: string): number {
  const stat = fs.lstatSync(source);
  if (!stat.isDirectory()) return stat.blocks * 512;
  let total = stat.blocks * 512;
  for (const entry of fs.readdirSync(source)) total += allocatedBytes(path.join(source, entry));
  return total;
}

/** Bytes an unprivileged-looking write may still use on the filesystem holding `dir` (root may use a bit more). */
export function freeBytes(dir: string): number {
  const stat = fs.statfsSync(dir);
  return stat.bavail * stat.bsize;
}

export function isNoSpace(error: unknown): boolean {
  if ((error as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC') return true;
  return error instanceof CommandError && /No space left on device/.test(error.stderr);
}

export function formatSize(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** `subject` is `disk data`; `root` the hoststore root whose filesystem is full. */
export function rootFullError(subject: string, root: string, free: number, needed: number): HoststoreError {
  return new HoststoreError(
    `snapshot of ${subject} failed: ${root} is full (${formatSize(free)} free, ${formatSize(needed)} needed); nothing was left behind; ` +
      `free space on that filesystem, delete snapshots you no longer need (${commandHint(root, 'snapshot prune')}, ${commandHint(root, 'snapshot delete ID')}) or keep fewer (a lower retentionCount or retentionDays)`,
  );
}
