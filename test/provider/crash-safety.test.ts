/**
 * Crash safety and drift on a real host: failed mounts detach what they attached, a mount of an image
 * deleted by hand is never unmounted, a retained disk lets go of its lease.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { converge, makeContext, remove } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { readMountTable } from '../../provider/host/mounts.js';
import { imagePath, stagingPath } from '../../src/schema.js';
import {
  hostLoopsUnder,
  hostTest,
  makeHostFixture,
  simulateReboot,
  type HostFixture,
} from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { CLI, hoststore } from '../helpers/cli.js';
import { synthModel } from '../helpers/synth-model.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => host.cleanup());

const ctx = () => makeContext(host.root, { log: () => undefined });
const storage = (o: Parameters<typeof storageWire>[1] = {}) => storageHandler.validate(storageWire(host.root, o));
const mount = (o: Parameters<typeof mountWire>[1] = {}) => mountHandler.validate(mountWire(host.root, o));
const loopsBacking = (image: string) =>
  execFileSync('losetup', ['--list', '--raw', '--noheadings', '-O', 'NAME,BACK-FILE'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.endsWith(` ${image}`) || l.endsWith(` ${image} (deleted)`))
    .map((l) => l.split(' ')[0]);

/** Zeroes the ext4 superblock (1 KiB at offset 1024): mount then fails for real. */
function corruptSuperblock(image: string): void {
  const fd = fs.openSync(image, 'r+');
  try {
    fs.writeSync(fd, Buffer.alloc(1024), 0, 1024, 1024);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

hostTest('mkfs.ext4')('a failed `hoststore up` detaches the loop device it attached (corrupt superblock)', async () => {
  // GIVEN a mounted disk, then a reboot and a damaged image
  await converge(storageHandler, ctx(), storage());
  await converge(mountHandler, ctx(), mount());
  simulateReboot(host.root);
  const image = imagePath(host.root, 'disk', 'app', 'data');
  corruptSuperblock(image);
  // WHEN up tries to mount it again
  const result = hoststore(['up', '--root', host.root]);
  // THEN it fails, and no loop device is left on the image
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/hoststore up: data for app\/web replica 1/);
  expect(loopsBacking(image)).toEqual([]);
});

hostTest('mkfs.ext4')(
  'a failed mount (its target is a file) detaches the loop device it attached, on up and on converge',
  async () => {
    await converge(storageHandler, ctx(), storage());
    const spec = mount();
    await converge(mountHandler, ctx(), spec);
    simulateReboot(host.root);
    // GIVEN the replica's mount point replaced by a file
    fs.rmSync(spec.host_path, { recursive: true, force: true });
    fs.writeFileSync(spec.host_path, 'not a directory');
    const image = imagePath(host.root, 'disk', 'app', 'data');
    expect(hoststore(['up', '--root', host.root]).status).toBe(1);
    expect(loopsBacking(image)).toEqual([]);
    await expect(converge(mountHandler, ctx(), spec)).rejects.toThrow();
    expect(loopsBacking(image)).toEqual([]);
  },
);

hostTest('mkfs.xfs')(
  'a failed grow of an unmounted xfs volume leaves no loop device (staging target is a file)',
  async () => {
    await converge(storageHandler, ctx(), storage({ name: 'logs', filesystem: 'xfs', size_gb: '1' }));
    const staging = stagingPath(host.root, 'disk', 'app', 'logs');
    // GIVEN the staging directory where an unmounted xfs is mounted briefly to grow it, blocked by a file
    fs.rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(staging), { recursive: true });
    fs.writeFileSync(staging, 'x');
    await expect(
      converge(storageHandler, ctx(), storage({ name: 'logs', filesystem: 'xfs', size_gb: '2' })),
    ).rejects.toThrow();
    expect(loopsBacking(imagePath(host.root, 'disk', 'app', 'logs'))).toEqual([]);
    fs.rmSync(staging);
  },
);

hostTest('mkfs.ext4')(
  'an image deleted while mounted: up and plan refuse with the way to save the data, and nothing is unmounted',
  async () => {
    // GIVEN a mounted disk holding data whose image file is deleted by hand
    await converge(storageHandler, ctx(), storage());
    const spec = mount();
    await converge(mountHandler, ctx(), spec);
    fs.writeFileSync(path.join(spec.host_path, 'precious'), 'data');
    const image = imagePath(host.root, 'disk', 'app', 'data');
    const [device] = loopsBacking(image);
    fs.rmSync(image);
    expect(fs.readFileSync(`/sys/block/${path.basename(device)}/loop/backing_file`, 'utf8')).toMatch(/ \(deleted\)\n$/);
    // WHEN hoststore up runs
    const up = hoststore(['up', '--root', host.root]);
    // THEN it refuses (exit 1 for the run, the item refused), naming the device and how to copy it, and unmounts nothing
    expect(up.status).toBe(1);
    expect(up.stderr).toMatch(
      new RegExp(`was deleted while mounted.*${device}.*cp --sparse=always ${device} ${image}`),
    );
    expect(readMountTable().some((e) => e.target === spec.host_path && e.source === device)).toBe(true);
    expect(fs.readFileSync(path.join(spec.host_path, 'precious'), 'utf8')).toBe('data');
    // THEN the handlers' read/diff (which plan uses) refuse both the storage and the mount
    const storageDiff = storageHandler.diff(ctx(), storage(), storageHandler.read(ctx(), storage()));
    expect(storageDiff.changes).toEqual([
      expect.objectContaining({
        safety: 'refused',
        reason: expect.stringContaining(`cp --sparse=always ${device} ${image}`),
      }),
    ]);
    const mountDiff = mountHandler.diff(ctx(), spec, mountHandler.read(ctx(), spec));
    expect(mountDiff.changes).toEqual([
      expect.objectContaining({ safety: 'refused', reason: expect.stringContaining(device) }),
    ]);
    // THEN hoststore plan shows both as refused, with the way out, and apply changes nothing
    const out = synthModel({
      stack: 'crash',
      root: host.root,
      storage: [
        {
          id: 'data',
          type: 'Disk',
          props: { name: 'data', sizeGb: 1 },
          mounts: [{ id: 'm', service: 'web', mountPath: '/data' }],
        },
      ],
    });
    try {
      const planned = hoststore(['plan', '--app', out, '--format', 'json']);
      const items = JSON.parse(planned.stdout).items as Array<{
        subject: string;
        safety: string;
        changes: Array<{ reason?: string }>;
      }>;
      expect(items.filter((i) => i.safety === 'refused').map((i) => i.subject)).toEqual([
        'disk data',
        expect.stringMatching(/^mount data -> web\[1\]:\/data/),
      ]);
      expect(items[0].changes[0].reason).toContain(`cp --sparse=always ${device} ${image}`);
      expect(hoststore(['apply', '--app', out, '--auto-approve']).status).toBe(3);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
    // and removing the mount refuses too
    await expect(remove(mountHandler, ctx(), spec)).rejects.toThrow(/was deleted while mounted/);
    expect(readMountTable().some((e) => e.target === spec.host_path && e.source === device)).toBe(true);
    // WHEN the data is saved as the message says, unmounted, and up runs again THEN it is all back
    execFileSync('fsfreeze', ['--freeze', spec.host_path]);
    execFileSync('cp', ['--sparse=always', device, image]);
    execFileSync('fsfreeze', ['--unfreeze', spec.host_path]);
    execFileSync('umount', [spec.host_path]);
    execFileSync('losetup', ['--detach', device]);
    expect(hoststore(['up', '--root', host.root])).toMatchObject({ status: 0 });
    expect(fs.readFileSync(path.join(spec.host_path, 'precious'), 'utf8')).toBe('data');
  },
);

hostTest('mkfs.ext4')(
  'a retained disk releases a lease left by a crash between taking it and recording the mount',
  async () => {
    await converge(storageHandler, ctx(), storage());
    // GIVEN a lease whose holder never recorded its mount (as a kill -9 mid-attach leaves it)
    ctx().registry.put('leases', 'data', {
      disk: 'data',
      project: 'app',
      service: 'web',
      replica: 1,
      hostPath: mount().host_path,
      since: '2026-01-01T00:00:00Z',
    });
    // WHEN the disk is removed with removalPolicy retain
    await remove(storageHandler, ctx(), storage());
    // THEN it is retained and its lease released, so another instance can mount it
    expect(ctx().registry.storage('disk', 'app', 'data')).toMatchObject({ state: 'retained' });
    expect(ctx().registry.lease('data')).toBeUndefined();
    await converge(storageHandler, ctx(), storage({ project: 'other' }));
    await converge(mountHandler, ctx(), mount({ project: 'other', service: 'db' }));
    expect(ctx().registry.lease('data')).toMatchObject({ project: 'other', service: 'db' });
    expect(hostLoopsUnder(host.root)).toHaveLength(1);
  },
);

hostTest('mkfs.ext4')(
  'a CLI whose reader is gone (EPIPE on stdout) still finishes its work: up re-mounts everything',
  async () => {
    // GIVEN three recorded mounts, all gone after a reboot
    for (const name of ['a', 'b', 'c']) {
      await converge(storageHandler, ctx(), storage({ kind: 'volume', name }));
      await converge(mountHandler, ctx(), mount({ storage: name, storage_kind: 'volume', mount_path: `/${name}` }));
    }
    simulateReboot(host.root);
    // WHEN up runs with its stdout reader closed (as when Terraform is killed under its provisioner)
    const child = spawn(process.execPath, [CLI, 'up', '--root', host.root], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    child.stderr.destroy();
    const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // THEN it did all of it
    expect(status).toBe(0);
    for (const name of ['a', 'b', 'c'])
      expect(readMountTable().some((e) => e.target === mount({ mount_path: `/${name}` }).host_path)).toBe(true);
  },
);
