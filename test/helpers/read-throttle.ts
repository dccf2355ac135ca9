/**
 * A slow disk for tests: this process's reads from one block device held to a rate by a cgroup-v1 blkio
 * throttle (a copy that takes seconds on any machine), undone afterwards. Only reads that reach the
 * device are slowed: cached pages are not.
 */
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';

const BLKIO = '/sys/fs/cgroup/blkio';

/** Why reads cannot be throttled here (no cgroup-v1 blkio controller), or undefined. */
export function readThrottleSkipReason(): string | undefined {
  return fs.existsSync(`${BLKIO}/cgroup.procs`) && fs.existsSync(`${BLKIO}/blkio.throttle.read_bps_device`)
    ? undefined
    : 'no cgroup-v1 blkio throttle';
}

/** MAJ:MIN of the block device the filesystem at `mountpoint` lives on. */
export function deviceOf(mountpoint: string): string {
  return execFileSync('findmnt', ['-n', '-o', 'MAJ:MIN', '--target', mountpoint], { encoding: 'utf8' }).trim();
}

/** Runs `fn` with this process's reads from `device` (MAJ:MIN) held to `bytesPerSecond`. */
export async function withSlowReads<T>(device: string, bytesPerSecond: number, fn: () => Promise<T>): Promise<T> {
  const own = /^\d+:blkio:(.*)$/m.exec(fs.readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ?? '/';
  const group = `${BLKIO}/hoststore-test-${process.pid}-${Date.now()}`;
  fs.mkdirSync(group);
  try {
    fs.writeFileSync(`${group}/blkio.throttle.read_bps_device`, `${device} ${bytesPerSecond}`);
    fs.writeFileSync(`${group}/cgroup.procs`, String(process.pid));
    try {
      return await fn();
    } finally {
      fs.writeFileSync(`${BLKIO}${own === '/' ? '' : own}/cgroup.procs`, String(process.pid));
    }
  } finally {
    // Children started meanwhile (a thaw guard, a digest) were in it too; they are gone within moments.
    for (let attempt = 0; ; attempt += 1) {
      try {
        fs.rmdirSync(group);
        break;
      } catch (error) {
        // eslint-disable-next-line no-unsafe-finally -- a group that never empties is the failure to report
        if ((error as NodeJS.ErrnoException).code !== 'EBUSY' || attempt >= 100) throw error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}

/** Waits (up to 20 s) until this process no longer has `file` open: a stopped copy's reads drain in the background. */
export async function untilClosed(file: string): Promise<void> {
  const open = () =>
    fs.readdirSync('/proc/self/fd').some((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`) === file;
      } catch {
        return false;
      }
    });
  for (let waited = 0; open() && waited < 20_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
}

/** Drops the clean cached pages of `file`, so that reading it goes to its device. */
export function dropCachedPages(file: string): void {
  execFileSync('sync');
  execFileSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0'], { stdio: 'ignore' });
}
