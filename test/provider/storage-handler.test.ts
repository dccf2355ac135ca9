import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { converge, makeContext, remove } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { imagePath } from '../../src/schema.js';
import { hostLoopsUnder, hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';

const GiB = 1024 ** 3;
let host: HostFixture;
let lines: string[];
beforeEach(() => {
  host = makeHostFixture();
  lines = [];
});
afterEach(() => host.cleanup());

const ctx = () => makeContext(host.root, { log: (l) => lines.push(l) });
const storage = (o: Parameters<typeof storageWire>[1] = {}) => storageHandler.validate(storageWire(host.root, o));
const mount = (o: Parameters<typeof mountWire>[1] = {}) => mountHandler.validate(mountWire(host.root, o));
const blkid = (file: string) =>
  execFileSync('blkid', ['-p', '-o', 'value', '-s', 'TYPE', file], { encoding: 'utf8' }).trim();

describe.each(['ext4', 'xfs', 'btrfs'] as const)('%s disk lifecycle', (filesystem) => {
  const tool = filesystem === 'ext4' ? 'mkfs.ext4' : `mkfs.${filesystem}`;
  hostTest(tool)('create → read → diff (no change) → grow → delete (retain) → adopt', async () => {
    // GIVEN a 1 GB disk spec
    const spec = storage({ filesystem, size_gb: filesystem === 'xfs' ? '1' : '1' });
    // WHEN it is converged
    await converge(storageHandler, ctx(), spec);
    // THEN a sparse, formatted image exists and is recorded
    const image = imagePath(host.root, 'disk', 'app', 'data');
    const stat = fs.statSync(image);
    expect(stat.size).toBe(GiB);
    expect(stat.blocks * 512).toBeLessThan(GiB / 4);
    expect(blkid(image)).toBe(filesystem);
    const actual = storageHandler.read(ctx(), spec);
    expect(actual).toMatchObject({ present: true, filesystem, record: { state: 'ready', sizeGb: 1 } });
    expect(storageHandler.diff(ctx(), spec, actual)).toEqual({ action: 'none', changes: [] });

    // WHEN it is mounted, written, and its size raised
    await converge(mountHandler, ctx(), mount());
    const file = `${mount().host_path}/kept.txt`;
    fs.writeFileSync(file, 'precious');
    await converge(storageHandler, ctx(), storage({ filesystem, size_gb: '2' }));
    // THEN the filesystem is bigger and the data intact
    expect(fs.readFileSync(file, 'utf8')).toBe('precious');
    expect(fs.statfsSync(mount().host_path).blocks * fs.statfsSync(mount().host_path).bsize).toBeGreaterThan(1.5 * GiB);
    expect(lines.join('\n')).toMatch(/grew from 1 GB to 2 GB/);

    // WHEN the mount and then the storage are deleted (default policy retain)
    await remove(mountHandler, ctx(), mount());
    await remove(storageHandler, ctx(), spec);
    // THEN nothing is mounted or attached, and the image is kept, recorded as retained
    expect(hostLoopsUnder(host.root)).toEqual([]);
    expect(fs.existsSync(image)).toBe(true);
    expect(storageHandler.read(ctx(), spec)?.record?.state).toBe('retained');

    // WHEN it is declared again THEN it is adopted with its data, not re-created
    await converge(storageHandler, ctx(), storage({ filesystem, size_gb: '2' }));
    await converge(mountHandler, ctx(), mount());
    expect(fs.readFileSync(file, 'utf8')).toBe('precious');
    expect(lines.join('\n')).toMatch(/adopted the existing disk/);
  });
});

hostTest('mkfs.xfs')('a smaller disk size is ignored, a filesystem change refused; both touch nothing', async () => {
  await converge(storageHandler, ctx(), storage({ size_gb: '2' }));
  const image = imagePath(host.root, 'disk', 'app', 'data');
  const before = fs.statSync(image).mtimeMs;
  await expect(converge(storageHandler, ctx(), storage({ size_gb: '1' }))).resolves.toMatchObject({
    action: 'none',
    changes: [{ reason: expect.stringMatching(/kept at 2 GB; sizeGb 1 ignored/) }],
  });
  await expect(converge(storageHandler, ctx(), storage({ size_gb: '2', filesystem: 'xfs' }))).rejects.toThrow(
    /disk data is ext4; changing it to xfs means reformatting, which erases its data/,
  );
  expect(fs.statSync(image).mtimeMs).toBe(before);
  expect(blkid(image)).toBe('ext4');
});

hostTest()('a disk without sizeGb must already exist', async () => {
  await expect(converge(storageHandler, ctx(), storage({ size_gb: '' }))).rejects.toThrow(
    /disk data does not exist on this host and has no sizeGb/,
  );
  expect(fs.existsSync(imagePath(host.root, 'disk', 'app', 'data'))).toBe(false);
});

hostTest()('an existing disk is reused by name from another project; its size is kept', async () => {
  await converge(storageHandler, ctx(), storage({ size_gb: '2', project: 'one' }));
  await remove(storageHandler, ctx(), storage({ project: 'one' }));
  await converge(storageHandler, ctx(), storage({ size_gb: '', project: 'two' }));
  expect(storageHandler.read(ctx(), storage({ project: 'two' }))?.record).toMatchObject({ state: 'ready', sizeGb: 2 });
});

hostTest()('removalPolicy destroy deletes the image, but never while mounted', async () => {
  await converge(storageHandler, ctx(), storage({ removal_policy: 'destroy' }));
  await converge(mountHandler, ctx(), mount());
  await expect(remove(storageHandler, ctx(), storage())).rejects.toThrow(
    /refusing to delete while mounted by app\/web replica 1/,
  );
  await remove(mountHandler, ctx(), mount());
  await remove(storageHandler, ctx(), storage());
  expect(fs.existsSync(imagePath(host.root, 'disk', 'app', 'data'))).toBe(false);
  expect(storageHandler.read(ctx(), storage())).toBeUndefined();
  // delete succeeds when the thing is already gone
  await remove(storageHandler, ctx(), storage());
});

hostTest()('drift: a deleted or truncated image is seen by read and refused, not silently recreated', async () => {
  await converge(storageHandler, ctx(), storage({ size_gb: '2' }));
  const image = imagePath(host.root, 'disk', 'app', 'data');
  fs.truncateSync(image, GiB);
  await expect(converge(storageHandler, ctx(), storage({ size_gb: '2' }))).rejects.toThrow(
    /was truncated behind hoststore's back/,
  );
  fs.rmSync(image);
  expect(storageHandler.read(ctx(), storage())).toMatchObject({ present: false });
  await expect(converge(storageHandler, ctx(), storage({ size_gb: '2' }))).rejects.toThrow(
    /is missing \(deleted behind hoststore's back\)/,
  );
});

hostTest()('an interrupted create (killed after the image was made) is finished by a rerun', async () => {
  // GIVEN the state a kill -9 between "record creating" and "format" leaves
  await converge(storageHandler, ctx(), storage());
  const registry = ctx().registry;
  const record = registry.storage('disk', 'app', 'data')!;
  registry.putStorage({ ...record, state: 'creating' });
  fs.truncateSync(imagePath(host.root, 'disk', 'app', 'data'), 0);
  // WHEN it is converged again THEN it is cleaned up and made whole
  await converge(storageHandler, ctx(), storage());
  expect(blkid(imagePath(host.root, 'disk', 'app', 'data'))).toBe('ext4');
  expect(lines.join('\n')).toMatch(/cleaned up an interrupted create/);
});

hostTest()('directory volumes are directories, bound into each replica', async () => {
  await converge(storageHandler, ctx(), storage({ kind: 'directory', name: 'uploads', size_gb: '', filesystem: '' }));
  for (const replica of ['1', '2']) {
    await converge(mountHandler, ctx(), mount({ storage: 'uploads', storage_kind: 'directory', replica }));
  }
  fs.writeFileSync(`${mount({ replica: '1' }).host_path}/a.txt`, 'shared');
  expect(fs.readFileSync(`${mount({ replica: '2' }).host_path}/a.txt`, 'utf8')).toBe('shared');
});
