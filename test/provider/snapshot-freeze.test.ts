/**
 * Bounded freezes: a snapshot of a mounted image says how long it will freeze, refuses (one line, the
 * expected time, the limit, the ways out) what would take longer than maxFreezeSeconds, stops a copy
 * still running at the limit, reports its freeze window, and the plan says which method a root gets.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { snapshotPolicyHandler } from '../../provider/handlers/snapshot-policy.js';
import { listSnapshots, takeSnapshot } from '../../provider/snapshots/snapshots.js';
import { hostChecks } from '../../provider/plan/plan.js';
import type { DesiredSpec } from '../../provider/plan/desired.js';
import { hostTest, hostWithCronDir, simulateReboot } from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { hoststore } from '../helpers/cli.js';
import {
  deviceOf,
  dropCachedPages,
  readThrottleSkipReason,
  untilClosed,
  withSlowReads,
} from '../helpers/read-throttle.js';

const fx = hostWithCronDir();

/** Runs `fn` with a hoststore root on its own fresh filesystem (ext4, or xfs with reflink); unmounts everything after. */
async function onOwnRoot(fsType: 'ext4' | 'xfs', fn: (root: string) => Promise<void>): Promise<void> {
  const backing = fx.host.path(`${fsType}-root.img`);
  execFileSync('truncate', ['-s', '4G', backing]);
  execFileSync(`mkfs.${fsType}`, fsType === 'xfs' ? ['-q', '-m', 'reflink=1', backing] : ['-q', backing]);
  const root = fx.host.path(fsType);
  fs.mkdirSync(root);
  execFileSync('mount', ['-o', 'loop', backing, root]);
  try {
    await fn(root);
  } finally {
    simulateReboot(root); // the disk's mounts and loop devices, before the root itself goes
  }
}

async function mountedDiskWith(root: string, mib: number, flush = true): Promise<string> {
  const ctx = makeContext(root, { log: () => undefined });
  await converge(storageHandler, ctx, storageHandler.validate(storageWire(root)));
  await converge(mountHandler, ctx, mountHandler.validate(mountWire(root)));
  const dir = mountWire(root).host_path;
  execFileSync('dd', ['if=/dev/urandom', `of=${dir}/blob`, 'bs=1M', `count=${mib}`, ...(flush ? ['conv=fsync'] : [])], {
    stdio: 'ignore',
  });
  return dir;
}

const policyWire = (root: string, o: Record<string, string> = {}) => ({
  root,
  project: 'app',
  policy: 'nightly',
  storage: 'data',
  storage_kind: 'disk' as const,
  stack: 'test',
  schedule: '0 4 * * *',
  retention_days: '7',
  retention_count: '',
  ...o,
});

hostTest('mkfs.ext4', 'fsfreeze')(
  'on an ext4 root a sparse copy over the limit is refused before freezing; within it, the freeze is reported',
  async () => {
    await onOwnRoot('ext4', async (root) => {
      // GIVEN a mounted disk holding 160 MiB on a root that cannot reflink
      const dir = await mountedDiskWith(root, 160);
      const cli = (...args: string[]) => hoststore([...args, '--root', root]);
      // WHEN a snapshot may freeze at most 0.5 s
      const refused = cli('snapshot', 'create', 'data', '--max-freeze-seconds', '0.5');
      // THEN it is refused in one line with the expected time, the limit and the ways out; nothing frozen or left
      expect(refused.status).toBe(3);
      expect(refused.stderr).toMatch(
        new RegExp(
          '^hoststore: snapshot of disk data refused: it would freeze its filesystem for about [0-9.]+ s \\(a sparse copy of 1[0-9]{2}\\.[0-9] MiB at about 100\\.0 MiB/s, ' +
            `since ${root} cannot reflink\\), over the limit of 0\\.5 s; raise maxFreezeSeconds \\(hoststore snapshot create data --max-freeze-seconds N --root ${root}\\), ` +
            `put the root on a reflink-capable filesystem \\(xfs with reflink, btrfs, or a btrfs pool: hoststore pool create --size-gb N --root ${root}\\), or unmount it first \\(an unmounted image is copied without freezing\\)\\n$`,
        ),
      );
      fs.writeFileSync(`${dir}/still-writable`, 'yes');
      expect(listSnapshots(makeContext(root, { log: () => undefined }))).toEqual([]);
      expect(fs.readdirSync(path.join(root, 'snapshots', 'disks', 'data'))).toEqual([]);
      // WHEN the default limit (5 s) allows it THEN it is taken, saying beforehand how long it will freeze, and records its window
      const taken = cli('snapshot', 'create', 'data', '--json');
      expect(taken.status).toBe(0);
      expect(taken.stderr).toMatch(
        /^disk data: freezing \S+ for about [0-9.]+ s \(sparse-copy of 1[0-9]{2}\.[0-9] MiB; limit 5 s\)$/m,
      );
      const record = JSON.parse(taken.stdout);
      expect(record).toMatchObject({
        method: 'sparse-copy',
        maxFreezeSeconds: 5,
        expectedFreezeMs: expect.any(Number),
      });
      expect(record.frozenMs).toBeGreaterThan(0);
      expect(record.expectedFreezeMs).toBeGreaterThanOrEqual(1500);
      expect(cli('snapshot', 'list')).toMatchObject({
        status: 0,
        stdout: expect.stringMatching(/sparse-copy +\d+ ms/),
      });
      // AND a bad limit is one line, exit 2
      for (const bad of ['0', 'abc', '0.05', '3601', '-1']) {
        expect(cli('snapshot', 'create', 'data', `--max-freeze-seconds=${bad}`)).toMatchObject({
          status: 2,
          stderr: expect.stringMatching(
            new RegExp(
              `^hoststore: --max-freeze-seconds must be (from 0\\.1 to 3600 seconds|a number of seconds) \\(got "${bad.replace('.', '\\.')}"\\); for example --max-freeze-seconds 30\\n$`,
            ),
          ),
        });
      }
      // AND a policy's limit holds for run-due, and the plan warns about it, naming the method of this root
      const ctx = makeContext(root, { log: () => undefined, now: () => new Date('2026-11-20T12:00:00Z') });
      await converge(
        snapshotPolicyHandler,
        ctx,
        snapshotPolicyHandler.validate(policyWire(root, { max_freeze_seconds: '0.5' })),
      );
      const due = hoststore(['snapshot', 'run-due', '--root', root], undefined, {
        HOSTSTORE_NOW: '2026-11-21T04:00:30Z',
        HOSTSTORE_CRON_DIR: fx.cronDir,
      });
      expect(due).toMatchObject({
        status: 1,
        stderr: expect.stringMatching(
          /^hoststore: snapshot failed: nightly of data: snapshot of disk data refused: it would freeze .* over the limit of 0\.5 s;/m,
        ),
      });
      const desired: DesiredSpec[] = [
        {
          kind: 'snapshot-policy',
          stack: 'test',
          address: 'nightly',
          spec: policyWire(root, { max_freeze_seconds: '0.5' }),
        } as DesiredSpec,
      ];
      const checks = hostChecks(ctx, desired);
      expect(checks).toContainEqual({
        level: 'info',
        message: `snapshots on ${root}: sparse-copy (ext4, probed); a mounted disk or volume freezes about 1 s per 100.0 MiB of data it holds`,
      });
      expect(checks).toContainEqual({
        level: 'warning',
        message: expect.stringMatching(
          /^snapshot policy nightly of disk data: a snapshot while it is mounted would freeze it about [0-9.]+ s \(sparse-copy of 1[0-9]{2}\.[0-9] MiB\), over its maxFreezeSeconds of 0\.5: such snapshots will be refused;/,
        ),
      });
    });
  },
);

(readThrottleSkipReason() ? test.skip : hostTest('mkfs.ext4', 'fsfreeze'))(
  'a copy still running at the limit is stopped, the filesystem thawed, nothing left behind',
  async () => {
    await onOwnRoot('ext4', async (root) => {
      // GIVEN a mounted disk holding 32 MiB on a root whose disk reads 4 MiB/s (about 8 s for the copy)
      const dir = await mountedDiskWith(root, 32);
      const ctx = makeContext(root, { log: () => undefined });
      const record = ctx.registry.storage('disk', 'app', 'data')!;
      dropCachedPages(record.path);
      const started = Date.now();
      await withSlowReads(deviceOf(root), 4 << 20, async () => {
        // WHEN a snapshot may freeze 1 s
        await expect(takeSnapshot(ctx, record, 'manual', undefined, { maxFreezeSeconds: 1 })).rejects.toThrow(
          /^snapshot of disk data stopped: its sparse-copy had not finished after 1 s frozen \(the limit\); the filesystem was thawed and nothing was left behind; raise maxFreezeSeconds/,
        );
        // THEN it stopped at the limit, not at the end of the copy
        expect(Date.now() - started).toBeLessThan(4000);
        await untilClosed(record.path);
      });
      // AND the filesystem is thawed, nothing was recorded or left behind
      fs.writeFileSync(`${dir}/still-writable`, 'yes');
      expect(listSnapshots(ctx)).toEqual([]);
      expect(fs.readdirSync(path.join(root, 'snapshots', 'disks', 'data'))).toEqual([]);
    });
  },
  60_000,
);

hostTest('mkfs.xfs', 'fsfreeze')(
  'on an xfs reflink root the method is probed, dirty data is flushed before the freeze, and the window is reported',
  async () => {
    await onOwnRoot('xfs', async (root) => {
      // GIVEN a mounted disk with 200 MiB not yet written back
      await mountedDiskWith(root, 200, false);
      // WHEN it is snapshotted
      const taken = hoststore(['snapshot', 'create', 'data', '--json', '--root', root]);
      expect(taken.status).toBe(0);
      const record = JSON.parse(taken.stdout);
      // THEN by reflink, with its window and the expectation it was held to
      expect(record).toMatchObject({ method: 'reflink', expectedFreezeMs: 250, maxFreezeSeconds: 5 });
      expect(record.frozenMs).toBeGreaterThan(0);
      expect(record.frozenMs).toBeLessThan(5000);
      // AND the plan names the method of this root
      const ctx = makeContext(root, { log: () => undefined });
      expect(
        hostChecks(ctx, [
          { kind: 'snapshot-policy', stack: 'test', address: 'nightly', spec: policyWire(root) } as DesiredSpec,
        ]),
      ).toContainEqual({
        level: 'info',
        message: `snapshots on ${root}: reflink (xfs, probed); a mounted disk or volume freezes about 0.3 s per snapshot`,
      });
      // AND the probe left nothing behind
      expect(fs.readdirSync(path.join(root, 'snapshots')).filter((f) => f.startsWith('.reflink-probe'))).toEqual([]);
    });
  },
);
