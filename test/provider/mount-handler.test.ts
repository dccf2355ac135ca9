import * as fs from 'node:fs';
import { converge, makeContext, remove } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { readMountTable, unmount } from '../../provider/host/mounts.js';
import { loopsFor } from '../../provider/host/loop.js';
import { imagePath, stagingPath } from '../../src/schema.js';
import {
  hostLoopsUnder,
  hostTest,
  makeHostFixture,
  simulateReboot,
  type HostFixture,
} from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => host.cleanup());

const ctx = () => makeContext(host.root, { log: () => undefined });
const storage = (o: Parameters<typeof storageWire>[1] = {}) => storageHandler.validate(storageWire(host.root, o));
const mount = (o: Parameters<typeof mountWire>[1] = {}) => mountHandler.validate(mountWire(host.root, o));
const entryAt = (target: string) => [...readMountTable()].reverse().find((e) => e.target === target);

hostTest()('lifecycle: create → read → diff (no change) → delete → read (gone); damage is noticed', async () => {
  await converge(storageHandler, ctx(), storage());
  const spec = mount();
  await converge(mountHandler, ctx(), spec);
  const actual = mountHandler.read(ctx(), spec);
  expect(actual).toMatchObject({ mounted: true, readOnly: false, lease: { service: 'web', replica: 1 } });
  expect(mountHandler.diff(ctx(), spec, actual)).toEqual({ action: 'none', changes: [] });
  // an exclusive disk is mounted once, straight at the replica's host path (no staging, no bind)
  const device = loopsFor(imagePath(host.root, 'disk', 'app', 'data'))[0];
  expect(
    readMountTable()
      .filter((e) => e.source === device)
      .map((e) => e.target),
  ).toEqual([spec.host_path]);
  // damage: unmount behind our back
  await unmount(spec.host_path);
  const damaged = mountHandler.read(ctx(), spec);
  expect(damaged).toMatchObject({ mounted: false });
  expect(mountHandler.diff(ctx(), spec, damaged).changes).toEqual([
    expect.objectContaining({ field: 'mount', reason: 'mount missing: remount' }),
  ]);
  await converge(mountHandler, ctx(), spec);
  expect(mountHandler.read(ctx(), spec)).toMatchObject({ mounted: true });
  await remove(mountHandler, ctx(), spec);
  expect(mountHandler.read(ctx(), spec)).toBeUndefined();
  expect(hostLoopsUnder(host.root)).toEqual([]);
  expect(ctx().registry.lease('data')).toBeUndefined();
});

hostTest()('a shared volume is one loop device and one staging mount, bound into every replica', async () => {
  await converge(storageHandler, ctx(), storage({ kind: 'volume', name: 'models', shared: 'true' }));
  const replicas = ['1', '2', '3'].map((replica) =>
    mount({ storage: 'models', storage_kind: 'volume', replica, read_only: 'true' }),
  );
  for (const spec of replicas) await converge(mountHandler, ctx(), spec);
  const image = imagePath(host.root, 'volume', 'app', 'models');
  expect(loopsFor(image)).toHaveLength(1);
  expect(readMountTable().filter((e) => e.target === stagingPath(host.root, 'volume', 'app', 'models'))).toHaveLength(
    1,
  );
  for (const spec of replicas)
    expect(entryAt(spec.host_path)).toMatchObject({ readOnly: true, source: loopsFor(image)[0] });
  expect(() => fs.writeFileSync(`${replicas[0].host_path}/x`, 'x')).toThrow(/EROFS/);
  // the storage stays staged until its last replica lets go
  await remove(mountHandler, ctx(), replicas[0]);
  await remove(mountHandler, ctx(), replicas[1]);
  expect(loopsFor(image)).toHaveLength(1);
  await remove(mountHandler, ctx(), replicas[2]);
  expect(loopsFor(image)).toHaveLength(0);
});

hostTest()('toggling readOnly remounts in place and keeps the data', async () => {
  await converge(storageHandler, ctx(), storage());
  await converge(mountHandler, ctx(), mount());
  fs.writeFileSync(`${mount().host_path}/f`, 'v1');
  await converge(mountHandler, ctx(), mount({ read_only: 'true' }));
  expect(entryAt(mount().host_path)?.readOnly).toBe(true);
  expect(() => fs.writeFileSync(`${mount().host_path}/f`, 'v2')).toThrow(/EROFS/);
  await converge(mountHandler, ctx(), mount({ read_only: 'false' }));
  expect(entryAt(mount().host_path)?.readOnly).toBe(false);
  expect(fs.readFileSync(`${mount().host_path}/f`, 'utf8')).toBe('v1');
});

hostTest()('a leased disk refuses a second holder, naming the holder; a stale lease can be broken', async () => {
  await converge(storageHandler, ctx(), storage());
  await converge(mountHandler, ctx(), mount({ service: 'web' }));
  const second = mount({ service: 'worker' });
  await expect(converge(mountHandler, ctx(), second)).rejects.toThrow(
    /disk data is leased by app\/web replica 1 since \d{4}-.*; a disk is mounted by one instance at a time: use one disk per instance/,
  );
  expect(entryAt(second.host_path)).toBeUndefined();
  // the holder's mount disappears behind our back: the lease is stale and says how to break it
  await unmount(mount({ service: 'web' }).host_path);
  await expect(converge(mountHandler, ctx(), second)).rejects.toThrow(
    /stale: its mount at .* is gone; break it with `hoststore lease break data --root \S+`/,
  );
});

hostTest()('a replica host path that is a symlink out of the root is refused', async () => {
  await converge(storageHandler, ctx(), storage());
  const spec = mount();
  const outside = fs.mkdtempSync('/tmp/hoststore-outside-');
  try {
    fs.mkdirSync(spec.host_path.replace(/\/1\/data$/, ''), { recursive: true });
    fs.symlinkSync(outside, spec.host_path.replace(/\/data$/, ''));
    await expect(converge(mountHandler, ctx(), spec)).rejects.toThrow(
      /refusing to mount at .*: .* is a symlink \(to \/tmp\/hoststore-outside-/,
    );
    expect(readMountTable().some((e) => e.target.startsWith(outside))).toBe(false);
    // nothing half-made stays behind: no staging mount, no loop device
    expect(hostLoopsUnder(host.root)).toEqual([]);
  } finally {
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

hostTest()('after a "reboot" (all mounts and loop devices gone) converge brings everything back', async () => {
  await converge(storageHandler, ctx(), storage());
  await converge(mountHandler, ctx(), mount());
  fs.writeFileSync(`${mount().host_path}/f`, 'survives');
  simulateReboot(host.root);
  expect(loopsFor(imagePath(host.root, 'disk', 'app', 'data'))).toHaveLength(0);
  await converge(mountHandler, ctx(), mount());
  expect(fs.readFileSync(`${mount().host_path}/f`, 'utf8')).toBe('survives');
  expect(loopsFor(imagePath(host.root, 'disk', 'app', 'data'))).toHaveLength(1);
});

hostTest()('mounting storage that was never created is refused clearly', async () => {
  await expect(converge(mountHandler, ctx(), mount({ storage: 'ghost' }))).rejects.toThrow(
    /disk ghost does not exist on this host; declare it \(or deploy its stack\) before mounting it/,
  );
});

hostTest()(
  "a renamed storage's old mount, deleted after the converge mounted the new one there, leaves the new one mounted",
  async () => {
    // Terraform runs a replaced Mount's destroy-time delete and the project's converge in either order.
    await converge(storageHandler, ctx(), storage());
    await converge(storageHandler, ctx(), storage({ name: 'data2' }));
    const old = mount();
    await converge(mountHandler, ctx(), old);
    const renamed = mount({ storage: 'data2' });
    await converge(mountHandler, ctx(), renamed);
    const device = loopsFor(imagePath(host.root, 'disk', 'app', 'data2'))[0];
    expect(entryAt(renamed.host_path)).toMatchObject({ source: device });
    const logs: string[] = [];
    await remove(mountHandler, makeContext(host.root, { log: (line) => logs.push(line) }), old);
    expect(entryAt(renamed.host_path)).toMatchObject({ source: device });
    expect(mountHandler.read(ctx(), renamed)).toMatchObject({ mounted: true });
    expect(ctx().registry.lease('data2')).toMatchObject({ service: 'web', replica: 1 });
    expect(logs.join('\n')).toMatch(/^data: not mounted at .* \(it is now disk data2's\)/m);
  },
);
