import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { lockPath, readLockHolder, withRootLock } from '../../provider/registry/lock.js';
import { LockTimeoutError } from '../../provider/errors.js';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-lock-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

test('serializes two holders in one process', async () => {
  // GIVEN two concurrent critical sections on one root
  const order: string[] = [];
  const section = (name: string) =>
    withRootLock(root, { holder: name }, async () => {
      order.push(`${name}:in`);
      await new Promise((r) => setTimeout(r, 50));
      order.push(`${name}:out`);
    });
  // WHEN both run at once
  await Promise.all([section('a'), section('b')]);
  // THEN they never overlap, and the lock is released
  expect(order.join(' ')).toMatch(/^(a:in a:out b:in b:out|b:in b:out a:in a:out)$/);
  expect(fs.existsSync(lockPath(root))).toBe(false);
});

test('a waiter gives up after its bound and names the holder', async () => {
  await withRootLock(root, { holder: 'deploy of stack web' }, async () => {
    const attempt = withRootLock(root, { holder: 'second deploy', timeoutMs: 100 }, async () => 'ran');
    await expect(attempt).rejects.toThrow(LockTimeoutError);
    await expect(withRootLock(root, { holder: 'x', timeoutMs: 50 }, async () => 1)).rejects.toThrow(
      /locked by deploy of stack web \(pid \d+, since .+\); gave up after 50 ms/,
    );
  });
});

test('a lock left by a killed process is broken, a live one is not', async () => {
  // GIVEN a lock file whose holder process is gone (kill -9 mid-deploy)
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.on('exit', r));
  fs.mkdirSync(path.dirname(lockPath(root)), { recursive: true });
  fs.writeFileSync(lockPath(root), JSON.stringify({ pid: child.pid, holder: 'dead deploy', since: 'then' }));
  // WHEN another process wants the lock THEN it gets it
  await expect(
    withRootLock(root, { holder: 'next', timeoutMs: 1000 }, async () => readLockHolder(root)?.holder),
  ).resolves.toBe('next');
  // AND a live holder's lock is respected
  fs.writeFileSync(lockPath(root), JSON.stringify({ pid: process.pid, holder: 'me', since: 'now' }));
  await expect(withRootLock(root, { holder: 'other', timeoutMs: 60 }, async () => 1)).rejects.toThrow(/locked by me/);
  fs.rmSync(lockPath(root));
});
