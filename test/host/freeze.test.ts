import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { GiB, createSparseImage } from '../../provider/host/image.js';
import { formatImage } from '../../provider/host/filesystem.js';
import { attachLoop } from '../../provider/host/loop.js';
import { mountDevice, safeMountTarget } from '../../provider/host/mounts.js';
import { withFrozen } from '../../provider/host/freeze.js';
import {
  hostLoopsUnder,
  hostMountsUnder,
  hostTest,
  makeHostFixture,
  type HostFixture,
} from '../helpers/host-fixture.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => {
  const root = host.root;
  host.cleanup();
  expect(hostLoopsUnder(root)).toEqual([]);
  expect(hostMountsUnder(root)).toEqual([]);
});

async function mounted(): Promise<string> {
  const image = host.path('f.img');
  await createSparseImage(image, GiB);
  await formatImage(image, 'ext4', 'f');
  const { device } = await attachLoop(image);
  const target = await safeMountTarget(host.root, host.path('m'));
  await mountDevice(device, target, 'ext4', { readOnly: false });
  return target;
}

/** Starts a writer in another process; resolves when it has written. */
function writer(file: string): { done: Promise<void>; finished: () => boolean } {
  let finished = false;
  const child = spawn('sh', ['-c', 'echo x > "$1" && sync "$1"', 'sh', file], { stdio: 'ignore' });
  const done = new Promise<void>((resolve) =>
    child.on('exit', () => {
      finished = true;
      resolve();
    }),
  );
  return { done, finished: () => finished };
}

hostTest('fsfreeze', 'mkfs.ext4')('writers block while frozen and go on after the thaw', async () => {
  const target = await mounted();
  let write: ReturnType<typeof writer> | undefined;
  const result = await withFrozen(target, async () => {
    write = writer(path.join(target, 'during'));
    await new Promise((r) => setTimeout(r, 300));
    expect(write.finished()).toBe(false);
    return 'snap';
  });
  expect(result).toBe('snap');
  await write!.done;
  expect(fs.readFileSync(path.join(target, 'during'), 'utf8')).toBe('x\n');
});

hostTest('fsfreeze', 'mkfs.ext4')("the thaw happens even when the work fails, and the work's error wins", async () => {
  const target = await mounted();
  await expect(
    withFrozen(target, async () => {
      throw new Error('snapshot failed');
    }),
  ).rejects.toThrow('snapshot failed');
  const write = writer(path.join(target, 'after'));
  await write.done;
  expect(fs.readFileSync(path.join(target, 'after'), 'utf8')).toBe('x\n');
});

hostTest('fsfreeze', 'mkfs.ext4')(
  'the window reported runs from the freeze to the thaw: the work is in it, the guard start is not',
  async () => {
    const target = await mounted();
    // GIVEN work that keeps the filesystem frozen 300 ms
    const windows: number[] = [];
    let frozenAt = 0;
    const before = Date.now();
    await withFrozen(
      target,
      async (at) => {
        frozenAt = at;
        await new Promise((r) => setTimeout(r, 300));
      },
      (ms) => windows.push(ms),
    );
    const after = Date.now();
    // THEN the window is reported once, holds the work, and is no longer than the whole call
    expect(windows).toHaveLength(1);
    expect(windows[0]).toBeGreaterThanOrEqual(300);
    expect(windows[0]).toBeLessThanOrEqual(after - before);
    // AND it began when the freeze did: whatever ran before (the thaw guard's start) is outside it
    expect(frozenAt).toBeGreaterThanOrEqual(before);
    expect(after - frozenAt).toBeGreaterThanOrEqual(windows[0]);
  },
);

hostTest('fsfreeze', 'mkfs.ext4')('a failed work still reports its window', async () => {
  const target = await mounted();
  const windows: number[] = [];
  await expect(
    withFrozen(
      target,
      async () => {
        throw new Error('copy failed');
      },
      (ms) => windows.push(ms),
    ),
  ).rejects.toThrow('copy failed');
  expect(windows).toHaveLength(1);
});
