/**
 * `snapshot restore --in-place` killed with SIGKILL at many points of a real run: the storage is never
 * missing, always byte-identical to the snapshot or to the pre-restore content, and a rerun converges.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { checksum, listSnapshots, takeSnapshot } from '../../provider/snapshots/snapshots.js';
import { imagePath } from '../../src/schema.js';
import { readMountTable } from '../../provider/host/mounts.js';
import { hostTest, makeHostFixture, simulateReboot, type HostFixture } from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { CLI, hoststore } from '../helpers/cli.js';

const fixtures: HostFixture[] = [];
afterEach(() => {
  for (const f of fixtures.splice(0)) f.cleanup();
});

const DATA_MB = 48;

/** Snapshot ids are per second on this build: wait for the next one before a run that takes a snapshot. */
const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));

interface Prepared {
  readonly host: HostFixture;
  readonly image: string;
  readonly snapshotId: string;
  readonly hashSnapshot: string;
  readonly hashBefore: string;
  readonly content: Buffer;
  readonly hostPath: string;
}

/** A disk holding DATA_MB of random data, snapshotted, then changed, then unmounted (as after a reboot). */
async function prepare(): Promise<Prepared> {
  const host = makeHostFixture('hoststore-restore-crash-');
  fixtures.push(host);
  const ctx = makeContext(host.root, { log: () => undefined });
  await converge(storageHandler, ctx, storageHandler.validate(storageWire(host.root)));
  const rw = mountHandler.validate(mountWire(host.root));
  await converge(mountHandler, ctx, rw);
  const content = randomBytes(DATA_MB << 20);
  fs.writeFileSync(path.join(rw.host_path, 'payload'), content);
  const record = ctx.registry.storage('disk', 'app', 'data')!;
  const snapshot = await takeSnapshot(ctx, record, 'manual');
  fs.writeFileSync(path.join(rw.host_path, 'payload'), randomBytes(DATA_MB << 20));
  fs.writeFileSync(path.join(rw.host_path, 'after-snapshot'), 'later');
  simulateReboot(host.root);
  const image = imagePath(host.root, 'disk', 'app', 'data');
  return {
    host,
    image,
    snapshotId: snapshot.id,
    content,
    hostPath: rw.host_path,
    hashSnapshot: (await checksum(snapshot.path)).sha256,
    hashBefore: (await checksum(image)).sha256,
  };
}

const restoreArgs = (p: Prepared) => [
  'snapshot',
  'restore',
  p.snapshotId,
  '--in-place',
  '--yes',
  '--root',
  p.host.root,
];

/** Runs the restore in its own process group and SIGKILLs the whole group when `when` says so. */
async function runAndKill(
  p: Prepared,
  when: (elapsedMs: number) => boolean,
): Promise<{ killed: boolean; elapsedMs: number }> {
  await nextSecond();
  const child = spawn(process.execPath, [CLI, ...restoreArgs(p)], { detached: true, stdio: 'ignore' });
  const started = Date.now();
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let done = false;
  void exited.then(() => (done = true));
  let killed = false;
  while (!done) {
    if (when(Date.now() - started)) {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
        killed = true;
      } catch {
        /* already exited */
      }
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await exited;
  return { killed, elapsedMs: Date.now() - started };
}

async function assertWholeAndRerun(p: Prepared, label: string): Promise<void> {
  // THEN the storage is there, byte-identical to one of the two states
  expect({ label, present: fs.existsSync(p.image) && fs.statSync(p.image).isFile() }).toEqual({ label, present: true });
  if (readMountTable().some((e) => e.target === p.hostPath)) {
    // Remounted: the run got past the swap (a mount writes to the image, so compare the files).
    expect(fs.readFileSync(path.join(p.hostPath, 'payload')).equals(p.content)).toBe(true);
  } else {
    const now = (await checksum(p.image)).sha256;
    expect({ label, state: now === p.hashSnapshot ? 'snapshot' : now === p.hashBefore ? 'before' : 'torn' }).toEqual({
      label,
      state: expect.stringMatching(/^(snapshot|before)$/),
    });
  }
  // WHEN the same command runs again THEN it converges to the snapshot, mounted again
  await nextSecond();
  const rerun = hoststore(restoreArgs(p));
  expect({ label, status: rerun.status, stderr: rerun.stderr }).toEqual({ label, status: 0, stderr: '' });
  expect(fs.readFileSync(path.join(p.hostPath, 'payload')).equals(p.content)).toBe(true);
  expect(fs.existsSync(path.join(p.hostPath, 'after-snapshot'))).toBe(false);
  const ctx = makeContext(p.host.root, { log: () => undefined });
  expect(ctx.registry.storage('disk', 'app', 'data')?.restoring).toBeUndefined();
  expect(fs.readdirSync(path.dirname(p.image))).toEqual(['data.img']);
  // the pre-restore content is kept in a safety snapshot
  simulateReboot(p.host.root);
  const safety = listSnapshots(ctx, 'data').filter((s) => s.trigger === 'safety');
  const hashes = await Promise.all(safety.map(async (s) => (await checksum(s.path)).sha256));
  expect({ label, keptBefore: hashes.includes(p.hashBefore) }).toEqual({ label, keptBefore: true });
}

const exists = (file: string) => fs.existsSync(file);

hostTest('mkfs.ext4')(
  'restore --in-place killed with SIGKILL at many points never leaves the storage missing or torn; a rerun converges',
  async () => {
    // An unkilled run first: it must work, and its duration spreads the kills below over the whole run.
    const baseline = await prepare();
    const { elapsedMs: total } = await runAndKill(baseline, () => false);
    await assertWholeAndRerun(baseline, 'no kill');
    const points: Array<[string, (p: Prepared) => (ms: number) => boolean]> = [
      // the copy has started (a temporary beside the image, or the image renamed away as earlier builds did)
      ['copy started', (p) => () => exists(`${p.image}.restoring`) || exists(`${p.image}.before-restore`)],
      [
        'copy under way',
        (p) => () =>
          (fs.statSync(`${p.image}.restoring`, { throwIfNoEntry: false })?.size ?? 0) > 0 ||
          exists(`${p.image}.before-restore`),
      ],
      [
        'swap recorded',
        (p) => () =>
          fs.readFileSync(path.join(p.host.root, 'registry', 'storage.json'), 'utf8').includes('"phase":"swapping"'),
      ],
      ...[0.2, 0.45, 0.7, 0.9].map((f): [string, (p: Prepared) => (ms: number) => boolean] => [
        `${Math.round(f * 100)}% of ${total} ms`,
        () => (ms) => ms >= f * total,
      ]),
    ];
    let killedCount = 0;
    for (const [label, when] of points) {
      const p = await prepare();
      const { killed } = await runAndKill(p, when(p));
      if (killed) killedCount += 1;
      await assertWholeAndRerun(p, label);
      fixtures.splice(fixtures.indexOf(p.host), 1);
      p.host.cleanup();
    }
    expect(killedCount).toBeGreaterThanOrEqual(points.length - 2);
  },
  600_000,
);

hostTest('mkfs.ext4')(
  'an interrupted restore is settled by `hoststore up` (copy rolled back) and by a storage converge (swap finished)',
  async () => {
    // GIVEN a restore killed while copying
    const copying = await prepare();
    await runAndKill(
      copying,
      () => (fs.statSync(`${copying.image}.restoring`, { throwIfNoEntry: false })?.size ?? 0) > 0,
    );
    const ctx = makeContext(copying.host.root, { log: () => undefined });
    const spec = storageHandler.validate(storageWire(copying.host.root));
    expect(storageHandler.diff(ctx, spec, storageHandler.read(ctx, spec)).changes).toEqual([
      expect.objectContaining({ field: 'image', reason: expect.stringMatching(/interrupted in-place restore/) }),
    ]);
    // WHEN hoststore up runs THEN the partial copy is gone, the disk keeps its content and is mounted again
    const up = hoststore(['up', '--root', copying.host.root]);
    expect(up).toMatchObject({ status: 0, stdout: expect.stringMatching(/rolled back an interrupted restore/) });
    expect(fs.readdirSync(path.dirname(copying.image))).toEqual(['data.img']);
    expect(fs.readFileSync(path.join(copying.hostPath, 'after-snapshot'), 'utf8')).toBe('later');
    expect(ctx.registry.storage('disk', 'app', 'data')?.restoring).toBeUndefined();
    // GIVEN a restore killed once its copy was made WHEN the storage converges THEN the swap is finished
    const swapping = await prepare();
    await runAndKill(swapping, () =>
      fs.readFileSync(path.join(swapping.host.root, 'registry', 'storage.json'), 'utf8').includes('"phase":"swapping"'),
    );
    const converged = hoststore(['handle', 'storage', 'converge'], storageWire(swapping.host.root));
    expect(converged).toMatchObject({ status: 0 });
    expect(makeContext(swapping.host.root).registry.storage('disk', 'app', 'data')?.restoring).toBeUndefined();
    expect((await checksum(swapping.image)).sha256).toBe(swapping.hashSnapshot);
  },
  120_000,
);

hostTest()('a directory volume restores in place through the same temporary and swap', async () => {
  const host = makeHostFixture('hoststore-restore-crash-');
  fixtures.push(host);
  const ctx = makeContext(host.root, { log: () => undefined });
  await converge(
    storageHandler,
    ctx,
    storageHandler.validate(storageWire(host.root, { kind: 'directory', name: 'cache', size_gb: '', filesystem: '' })),
  );
  const dir = ctx.registry.storage('directory', 'app', 'cache')!.path;
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'kept'), 'v1');
  const snapshot = await takeSnapshot(ctx, ctx.registry.storage('directory', 'app', 'cache')!, 'manual');
  fs.writeFileSync(path.join(dir, 'sub', 'kept'), 'v2');
  fs.writeFileSync(path.join(dir, 'new'), 'x');
  await nextSecond();
  const restored = hoststore(['snapshot', 'restore', snapshot.id, '--in-place', '--yes', '--root', host.root]);
  expect(restored).toMatchObject({ status: 0 });
  expect(fs.readFileSync(path.join(dir, 'sub', 'kept'), 'utf8')).toBe('v1');
  expect(fs.existsSync(path.join(dir, 'new'))).toBe(false);
  expect(fs.statSync(dir).mode & 0o777).toBe(0o755);
  expect(fs.readdirSync(path.dirname(dir))).toEqual(['cache']);
  expect(ctx.registry.storage('directory', 'app', 'cache')?.restoring).toBeUndefined();
});
