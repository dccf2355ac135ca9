/**
 * A snapshot on a root that is full: one line naming the storage, the root, free and needed bytes and
 * what to do; nothing left behind. The root is a real small filesystem (a loop-mounted image).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { converge, makeContext, remove } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { listSnapshots, takeSnapshot } from '../../provider/snapshots/snapshots.js';
import { hostTest, makeHostFixture, simulateReboot, type HostFixture } from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { hoststore } from '../helpers/cli.js';
import {
  deviceOf,
  dropCachedPages,
  readThrottleSkipReason,
  untilClosed,
  withSlowReads,
} from '../helpers/read-throttle.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => host.cleanup());

/** Runs `fn` with a hoststore root on a fresh ext4 filesystem of `mib` MiB; unmounts everything after. */
async function onSmallRoot(mib: number, fn: (root: string) => Promise<void>): Promise<void> {
  const backing = host.path('small-root.img');
  execFileSync('truncate', ['-s', `${mib}M`, backing]);
  execFileSync('mkfs.ext4', ['-q', '-m', '0', backing]);
  const root = host.path('small');
  fs.mkdirSync(root);
  execFileSync('mount', ['-o', 'loop', backing, root]);
  try {
    await fn(root);
  } finally {
    simulateReboot(root); // the disk's mounts and loop devices, before the small root itself goes
  }
}

const ONE_LINE_FULL = (what: string, root: string) =>
  new RegExp(
    `^hoststore: snapshot of ${what} failed: ${root} is full \\([0-9.]+ [KMG]iB free, [0-9.]+ [KMG]iB needed\\); nothing was left behind; ` +
      `free space on that filesystem, delete snapshots you no longer need \\(hoststore snapshot prune --root ${root}, hoststore snapshot delete ID --root ${root}\\) or keep fewer \\(a lower retentionCount or retentionDays\\)\\n$`,
  );

hostTest('mkfs.ext4')(
  'a disk whose data does not fit beside it on the root: one line, nothing left behind',
  async () => {
    await onSmallRoot(96, async (root) => {
      // GIVEN a thin 1 GiB disk holding 48 MiB of data on a 96 MiB root
      const ctx = makeContext(root, { log: () => undefined });
      await converge(storageHandler, ctx, storageHandler.validate(storageWire(root)));
      await converge(mountHandler, ctx, mountHandler.validate(mountWire(root)));
      execFileSync(
        'dd',
        ['if=/dev/urandom', `of=${mountWire(root).host_path}/blob`, 'bs=1M', 'count=48', 'conv=fsync'],
        { stdio: 'ignore' },
      );
      await remove(mountHandler, ctx, mountHandler.validate(mountWire(root)));
      // WHEN it is snapshotted
      const result = hoststore(['snapshot', 'create', 'data', '--root', root]);
      // THEN one line says why and what to do, and nothing was recorded or left
      expect(result.stderr).toMatch(ONE_LINE_FULL('disk data', root));
      expect(result.status).toBe(1);
      expect(listSnapshots(ctx)).toEqual([]);
      expect(fs.readdirSync(path.join(root, 'snapshots', 'disks', 'data'))).toEqual([]);
    });
  },
);

hostTest('mkfs.ext4')('a directory volume that fills the root mid-copy: one line, nothing left behind', async () => {
  await onSmallRoot(64, async (root) => {
    // GIVEN a directory volume holding 36 MiB on a 64 MiB root
    const ctx = makeContext(root, { log: () => undefined });
    await converge(
      storageHandler,
      ctx,
      storageHandler.validate(storageWire(root, { kind: 'directory', name: 'uploads', size_gb: '', filesystem: '' })),
    );
    const dir = path.join(root, 'projects/app/directories/uploads');
    for (const n of [1, 2, 3])
      execFileSync('dd', ['if=/dev/urandom', `of=${dir}/part${n}`, 'bs=1M', 'count=12', 'conv=fsync'], {
        stdio: 'ignore',
      });
    // WHEN it is snapshotted
    const result = hoststore(['snapshot', 'create', 'uploads', '--root', root]);
    // THEN
    expect(result.stderr).toMatch(ONE_LINE_FULL('directory uploads', root));
    expect(result.status).toBe(1);
    expect(listSnapshots(ctx)).toEqual([]);
    expect(fs.readdirSync(path.join(root, 'snapshots', 'projects', 'app', 'directories', 'uploads'))).toEqual([]);
  });
});

(readThrottleSkipReason() ? test.skip : hostTest('mkfs.ext4', 'fsfreeze', 'fallocate'))(
  'a root that fills up while a mounted disk is copied frozen: thawed, one line, nothing left behind',
  async () => {
    await onSmallRoot(192, async (root) => {
      // GIVEN a mounted disk holding 32 MiB, copied at 4 MiB/s (its root's disk is slowed), on a root with room for it
      const logs: string[] = [];
      const ctx = makeContext(root, { log: (line) => logs.push(line) });
      await converge(storageHandler, ctx, storageHandler.validate(storageWire(root)));
      await converge(mountHandler, ctx, mountHandler.validate(mountWire(root)));
      const dir = mountWire(root).host_path;
      execFileSync('dd', ['if=/dev/urandom', `of=${dir}/blob`, 'bs=1M', 'count=32', 'conv=fsync'], { stdio: 'ignore' });
      const record = ctx.registry.storage('disk', 'app', 'data')!;
      dropCachedPages(record.path);
      const filler = path.join(root, 'filler');
      let filled = false;
      // WHEN the root fills up a second into the frozen copy (another program's write)
      const fill = setInterval(() => {
        if (filled || !logs.some((l) => l.includes('freezing'))) return;
        filled = true;
        setTimeout(() => {
          // All but a little (ext4 keeps some for metadata): the copy still has 20 MiB and more to go.
          const st = fs.statfsSync(root);
          for (const margin of [2, 4, 8, 12, 16]) {
            try {
              execFileSync('fallocate', ['-l', String(st.bfree * st.bsize - (margin << 20)), filler], {
                stdio: 'ignore',
              });
              break;
            } catch {
              fs.rmSync(filler, { force: true });
            }
          }
        }, 1000);
      }, 20);
      try {
        await withSlowReads(deviceOf(root), 4 << 20, async () => {
          // THEN the snapshot fails in one line naming the root, free and needed bytes and what to do
          await expect(takeSnapshot(ctx, record, 'manual', undefined, { maxFreezeSeconds: 60 })).rejects.toThrow(
            new RegExp(ONE_LINE_FULL('disk data', root).source.replace('^hoststore: ', '^').replace('\\n$', '$')),
          );
          await untilClosed(record.path);
        });
      } finally {
        clearInterval(fill);
      }
      expect(filled).toBe(true);
      // AND the filesystem is thawed, nothing was recorded or left behind
      fs.writeFileSync(`${dir}/still-writable`, 'yes');
      expect(listSnapshots(ctx)).toEqual([]);
      expect(fs.readdirSync(path.join(root, 'snapshots', 'disks', 'data'))).toEqual([]);
      fs.rmSync(filler);
    });
  },
  60_000,
);
