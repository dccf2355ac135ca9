/**
 * Growing a mounted ext4 disk that a process holds: online resize is tried first; where it is refused
 * (here: resize2fs gets EPERM) the offline grow would have to unmount, so the grow is refused before
 * anything changes, naming the holders (pid, command). Real processes hold the mount; cleanup kills them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { growStorage } from '../../provider/handlers/block-device.js';
import { holdersOf } from '../../provider/host/holders.js';
import { readMountTable } from '../../provider/host/mounts.js';
import { RefusedError } from '../../provider/errors.js';
import { imagePath, replicaHostPath } from '../../src/schema.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';

const GiB = 1024 ** 3;
let host: HostFixture;
const children: ChildProcess[] = [];
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(async () => {
  for (const child of children.splice(0)) await stop(child);
  host.cleanup();
});

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await gone;
}

const ctx = () => makeContext(host.root, { log: () => undefined });
const storage = (size: string) => storageHandler.validate(storageWire(host.root, { size_gb: size }));
const data = () => replicaHostPath(host.root, 'app', 'web', 1, '/data');
const image = () => imagePath(host.root, 'disk', 'app', 'data');

async function mountedDisk(): Promise<void> {
  await converge(storageHandler, ctx(), storage('1'));
  await converge(mountHandler, ctx(), mountHandler.validate(mountWire(host.root)));
  fs.writeFileSync(path.join(data(), 'PG_VERSION'), '16');
}

/** Starts a process and waits until /proc shows it holding the mount. */
async function holding(command: string, args: string[], options: { cwd?: string } = {}): Promise<ChildProcess> {
  const child = spawn(command, args, { cwd: options.cwd, stdio: 'ignore' });
  children.push(child);
  for (let i = 0; i < 100 && !holdersOf(data()).some((h) => h.pid === child.pid); i += 1)
    await new Promise((r) => setTimeout(r, 20));
  return child;
}

hostTest()(
  'a process with its working directory in the mount: the grow is refused in the plan, naming it, and nothing changes',
  async () => {
    // GIVEN a mounted 1 GB ext4 disk and `sleep` running with its cwd inside the mount
    await mountedDisk();
    const sleeper = await holding('sleep', ['300'], { cwd: data() });
    // WHEN the disk is grown to 2 GB
    const spec = storage('2');
    const diff = storageHandler.diff(ctx(), spec, storageHandler.read(ctx(), spec));
    // THEN the diff refuses, naming the holder
    expect(diff.changes).toContainEqual(
      expect.objectContaining({
        field: 'size_gb',
        safety: 'refused',
        reason: expect.stringContaining(`pid ${sleeper.pid} (sleep, cwd)`),
      }),
    );
    await expect(converge(storageHandler, ctx(), spec)).rejects.toThrow(
      new RegExp(`held by pid ${sleeper.pid} \\(sleep, cwd\\)`),
    );
    // AND the image, the record and the mount are as they were
    expect(fs.statSync(image()).size).toBe(GiB);
    expect(ctx().registry.storage('disk', 'app', 'data')).toMatchObject({ sizeGb: 1, state: 'ready' });
    expect(ctx().registry.storage('disk', 'app', 'data')?.growingToGb).toBeUndefined();
    expect(readMountTable().some((e) => e.target === data())).toBe(true);
    // WHEN the process is stopped, THEN the grow goes through and the data is intact
    await stop(sleeper);
    await converge(storageHandler, ctx(), spec);
    const statfs = fs.statfsSync(data());
    expect(statfs.blocks * statfs.bsize).toBeGreaterThan(1.5 * GiB);
    expect(fs.readFileSync(path.join(data(), 'PG_VERSION'), 'utf8')).toBe('16');
  },
);

hostTest()(
  'a holder that appears after the plan: the offline fallback refuses before unmounting and gives the image its size back',
  async () => {
    // GIVEN a mounted disk and a node process holding a file open in it (its cwd elsewhere)
    await mountedDisk();
    const file = path.join(data(), 'PG_VERSION');
    const holder = await holding(
      process.execPath,
      ['-e', `require('fs').openSync(${JSON.stringify(file)}, 'r'); setInterval(() => {}, 1000)`],
      { cwd: '/' },
    );
    expect(holdersOf(data())).toContainEqual(
      expect.objectContaining({ pid: holder.pid, command: 'node', how: expect.stringMatching(/^fd \d+$/) }),
    );
    // WHEN the grow itself runs (as after a plan taken before the process started)
    const grown = growStorage(ctx(), storage('2'), image(), 2 * GiB);
    // THEN it is refused, naming the holder, and nothing changed
    await expect(grown).rejects.toThrow(RefusedError);
    await expect(growStorage(ctx(), storage('2'), image(), 2 * GiB)).rejects.toThrow(
      new RegExp(`pid ${holder.pid} \\(node, fd \\d+\\)`),
    );
    expect(fs.statSync(image()).size).toBe(GiB);
    expect(readMountTable().some((e) => e.target === data())).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe('16');
  },
);
