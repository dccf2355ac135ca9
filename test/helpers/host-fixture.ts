/**
 * A temporary hoststore root for one test, and the cleanup that undoes only what the test made: every
 * mount under the root or registered with `trackMount` (deepest first, lazily as a last resort) and
 * every loop device backed by a file under the root or registered with `trackLoop`. Call `cleanup()`
 * from afterEach so it runs even when the test fails. Spawns with child_process, not the code under
 * test, so a bug there cannot hide a leak.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { readMountTable } from '../../provider/host/mounts.js';

export interface HostFixture {
  readonly root: string;
  /** A path under the root. */
  path(...parts: string[]): string;
  /** Registers a loop device the test attached to a file outside the root. */
  trackLoop(device: string): void;
  /** Registers a mount the test made outside the root. */
  trackMount(target: string): void;
  cleanup(): void;
}

export function makeHostFixture(prefix = 'hoststore-test-'): HostFixture {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  const loops = new Set<string>();
  const mounts = new Set<string>();
  return {
    root,
    path: (...parts) => path.join(root, ...parts),
    trackLoop: (device) => void loops.add(device),
    trackMount: (target) => void mounts.add(path.resolve(target)),
    cleanup: () => cleanupRoot(root, { loops: [...loops], mounts: [...mounts] }),
  };
}

/**
 * Registers, for each test of the file, a fresh fixture whose cron entries go to `<root>/cron.d`
 * (HOSTSTORE_CRON_DIR is set before each test and unset after it, with the fixture cleaned up).
 */
export function hostWithCronDir(): { readonly host: HostFixture; readonly cronDir: string } {
  const current = {} as { host: HostFixture; cronDir: string };
  beforeEach(() => {
    current.host = makeHostFixture();
    current.cronDir = path.join(current.host.root, 'cron.d');
    process.env.HOSTSTORE_CRON_DIR = current.cronDir;
  });
  afterEach(() => {
    delete process.env.HOSTSTORE_CRON_DIR;
    current.host.cleanup();
  });
  return current;
}

function backingFileOf(name: string): string | undefined {
  try {
    return fs.readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').replace(/\n$/, '') || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Unmounts, detaches and removes what a test made under `root` (plus the extra loops and mounts given).
 * Throws, leaving the directory in place, if a mount could not be removed: deleting through a live
 * mount would delete the mounted data.
 */
export function cleanupRoot(
  root: string,
  extra: { loops?: readonly string[]; mounts?: readonly string[]; keepFiles?: boolean } = {},
): void {
  const inside = (p: string) => p === root || p.startsWith(root + '/');
  const tracked = new Set(extra.mounts ?? []);
  // Strictly below the root: a root that is itself a mount point (a test's own filesystem) is the caller's.
  const ours = () =>
    readMountTable()
      .filter((e) => e.target.startsWith(root + '/') || tracked.has(e.target))
      .map((e) => e.target);
  for (let pass = 0; pass < 6; pass += 1) {
    // Deepest first; a target mounted twice is listed twice and unmounted twice.
    const targets = ours().sort((a, b) => b.split('/').length - a.split('/').length || b.length - a.length);
    if (targets.length === 0) break;
    for (const target of targets) {
      try {
        execFileSync('umount', [...(pass >= 4 ? ['--lazy'] : []), target], { stdio: 'ignore' });
      } catch {
        /* retried next pass, lazily at the end */
      }
    }
  }
  const left = ours();
  const explicit = new Set(extra.loops ?? []);
  const problems: string[] = [];
  for (const name of fs.existsSync('/sys/block')
    ? fs.readdirSync('/sys/block').filter((n) => /^loop\d+$/.test(n))
    : []) {
    const backing = backingFileOf(name);
    if (backing === undefined) continue;
    if (!inside(backing.replace(/ \(deleted\)$/, '')) && !explicit.has(`/dev/${name}`)) continue;
    try {
      execFileSync('losetup', ['--detach', `/dev/${name}`], { stdio: 'ignore' });
    } catch (error) {
      problems.push(`/dev/${name}: ${(error as Error).message}`);
    }
  }
  if (left.length > 0) {
    throw new Error(
      `test cleanup could not unmount ${left.join(', ')}; left ${root} in place (${problems.join('; ')})`,
    );
  }
  if (!extra.keepFiles) fs.rmSync(root, { recursive: true, force: true });
  if (problems.length > 0) throw new Error(`test cleanup could not detach: ${problems.join('; ')}`);
}

/** What a reboot does to a root: every mount and loop device gone, the files (images, registry) kept. */
export function simulateReboot(root: string): void {
  cleanupRoot(root, { keepFiles: true });
}

/** Loop devices whose backing file lies under `root`, from losetup itself (an independent witness). */
export function hostLoopsUnder(root: string): string[] {
  return execFileSync('losetup', ['--list', '--raw', '--noheadings', '-O', 'NAME,BACK-FILE'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(` ${root}/`))
    .map((l) => l.split(' ')[0]);
}

/** Mount targets at or under `root`, from findmnt (an independent witness). */
export function hostMountsUnder(root: string): string[] {
  return execFileSync('findmnt', ['--raw', '--noheadings', '-o', 'TARGET'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.replace(/\\x([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))))
    .filter((t) => t === root || t.startsWith(root + '/'));
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

const TOOL_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Why host storage tests cannot run here (not root, tools missing, no loop support), or undefined. */
export function hostSkipReason(...tools: string[]): string | undefined {
  if (!isRoot()) return 'they need root (loop devices and mounts)';
  if (!fs.existsSync('/dev/loop-control')) return 'the kernel has no loop device support (/dev/loop-control)';
  const missing = tools.filter((t) => !TOOL_DIRS.some((d) => fs.existsSync(path.join(d, t))));
  if (missing.length > 0) return `missing ${missing.join(', ')}`;
  return undefined;
}

/** True when host tests can run; otherwise prints why once per reason and returns false. */
export function requireRoot(...tools: string[]): boolean {
  const reason = hostSkipReason(...tools);
  if (reason) report(reason);
  return reason === undefined;
}

const reported = new Set<string>();
function report(reason: string): void {
  if (reported.has(reason)) return;
  reported.add(reason);
  process.stderr.write(`skipping host storage tests: ${reason}\n`);
}

/** `test` when the host can run real storage tests (root, the given tools), else `test.skip` after saying why. */
export function hostTest(...tools: string[]): jest.It {
  return requireRoot(...tools) ? test : test.skip;
}
