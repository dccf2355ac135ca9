/**
 * A temporary hoststore root for one test, and the cleanup that undoes only what the test made: every
 * mount under the root (deepest first) and every loop device backed by a file under it. Call
 * `cleanup()` from afterEach so it runs even when the test fails.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { readMountTable } from '../../provider/host/mounts.js';

export interface HostFixture {
  readonly root: string;
  cleanup(): void;
}

export function makeHostFixture(prefix = 'hoststore-test-'): HostFixture {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  return { root, cleanup: () => cleanupRoot(root) };
}

export function cleanupRoot(root: string): void {
  const inside = (p: string) => p === root || p.startsWith(root + '/');
  for (let pass = 0; pass < 5; pass += 1) {
    const mounts = readMountTable().filter((e) => inside(e.target)).map((e) => e.target).sort((a, b) => b.length - a.length);
    if (mounts.length === 0) break;
    for (const target of mounts) {
      try {
        execFileSync('umount', [target], { stdio: 'ignore' });
      } catch {
        if (pass >= 3) execFileSync('umount', ['-l', target], { stdio: 'ignore' });
      }
    }
  }
  for (const name of fs.readdirSync('/sys/block').filter((n) => n.startsWith('loop'))) {
    let backing = '';
    try {
      backing = fs.readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trim().replace(/ \(deleted\)$/, '');
    } catch {
      continue;
    }
    if (inside(backing)) execFileSync('losetup', ['-d', `/dev/${name}`], { stdio: 'ignore' });
  }
  fs.rmSync(root, { recursive: true, force: true });
}

export function hostLoopsUnder(root: string): string[] {
  return execFileSync('losetup', ['--list', '--raw', '--noheadings', '-O', 'NAME,BACK-FILE'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(` ${root}/`))
    .map((l) => l.split(' ')[0]);
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** `test` when the host can run real storage tests, else `test.skip` after saying why. */
export function hostTest(...tools: string[]): jest.It {
  const missing = tools.filter((t) => !['/usr/sbin', '/sbin', '/usr/bin', '/bin'].some((d) => fs.existsSync(path.join(d, t))));
  if (!isRoot()) {
    process.stderr.write('skipping host storage tests: they need root (loop devices and mounts)\n');
    return test.skip;
  }
  if (missing.length > 0) {
    process.stderr.write(`skipping host storage tests: missing ${missing.join(', ')}\n`);
    return test.skip;
  }
  return test;
}
