/** Snapshots with real images holding real data: consistency under a writer, restore, immutability, failure. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { converge, makeContext, remove } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { listSnapshots } from '../../provider/snapshots/snapshots.js';
import { imagePath } from '../../src/schema.js';
import { hostTest, makeHostFixture, simulateReboot, type HostFixture } from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { hoststore } from '../helpers/cli.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => host.cleanup());

const ctx = () => makeContext(host.root, { log: () => undefined });
const storage = (o: Parameters<typeof storageWire>[1] = {}) => storageHandler.validate(storageWire(host.root, o));
const mount = (o: Parameters<typeof mountWire>[1] = {}) => mountHandler.validate(mountWire(host.root, o));
const cli = (...args: string[]) => hoststore([...args, '--root', host.root]);

async function mountedDisk(o: Parameters<typeof storageWire>[1] = {}): Promise<string> {
  await converge(storageHandler, ctx(), storage(o));
  await converge(mountHandler, ctx(), mount({ storage: o.name ?? 'data' }));
  return mount().host_path;
}

hostTest()('a snapshot taken while a writer appends is consistent and holds a prefix of the writes', async () => {
  // GIVEN a mounted disk and a writer appending numbered lines
  const dir = await mountedDisk();
  const writer = spawn('bash', ['-c', `i=0; while true; do i=$((i+1)); echo $i >> "${dir}/log"; done`]);
  try {
    await new Promise((r) => setTimeout(r, 400));
    // WHEN a snapshot is taken mid-stream
    const taken = cli('snapshot', 'create', 'data', '--json');
    expect(taken.status).toBe(0);
    const record = JSON.parse(taken.stdout);
    expect(record).toMatchObject({
      storage: 'data',
      trigger: 'manual',
      method: expect.stringMatching(/^(reflink|sparse-copy)$/),
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(record.frozenMs).toBeGreaterThanOrEqual(0);
    expect(fs.statSync(record.path).mode & 0o777).toBe(0o444);
    // THEN the filesystem in the snapshot checks clean and its log is 1..k with no gap
    execFileSync('e2fsck', ['-fn', record.path], { stdio: 'pipe' });
    expect(cli('snapshot', 'restore', record.id, '--to', 'copy').status).toBe(0);
    await converge(mountHandler, ctx(), mount({ storage: 'copy', service: 'check', mount_path: '/copy' }));
    const lines = fs
      .readFileSync(`${mount({ service: 'check', mount_path: '/copy' }).host_path}/log`, 'utf8')
      .split('\n')
      .filter(Boolean);
    expect(lines.length).toBeGreaterThan(10);
    lines.forEach((line, i) => expect(line).toBe(String(i + 1)));
  } finally {
    writer.kill('SIGKILL');
  }
  // AND the writer kept going after the freeze: the filesystem was thawed
  fs.appendFileSync(`${dir}/log`, 'after\n');
});

hostTest()('restore in place reproduces the content byte for byte, after a safety snapshot', async () => {
  const dir = await mountedDisk();
  const original = Buffer.from(Array.from({ length: 3 << 20 }, (_, i) => (i * 7919) % 251));
  fs.writeFileSync(`${dir}/blob`, original);
  const id = JSON.parse(cli('snapshot', 'create', 'data', '--json').stdout).id;
  fs.writeFileSync(`${dir}/blob`, 'overwritten by mistake');
  await new Promise((r) => setTimeout(r, 1100)); // ids are per second
  expect(cli('snapshot', 'restore', id, '--in-place')).toMatchObject({
    status: 2,
    stderr: expect.stringMatching(/pass --yes/),
  });
  const restored = cli('snapshot', 'restore', id, '--in-place', '--yes');
  expect(restored).toMatchObject({
    status: 0,
    stdout: expect.stringMatching(/previous content is snapshot data\.\d{8}T\d{6}Z/),
  });
  expect(fs.readFileSync(`${dir}/blob`).equals(original)).toBe(true);
  expect(listSnapshots(ctx(), 'data').map((s) => s.trigger)).toEqual(['manual', 'safety']);
});

hostTest()('snapshot list flags a snapshot whose content changed', async () => {
  await converge(storageHandler, ctx(), storage());
  const id = JSON.parse(cli('snapshot', 'create', 'data', '--json').stdout).id;
  expect(cli('snapshot', 'list')).toMatchObject({
    status: 0,
    stdout: expect.stringMatching(new RegExp(`${id}.*manual.*ok`)),
  });
  const file = listSnapshots(ctx())[0].path;
  fs.chmodSync(file, 0o644);
  fs.appendFileSync(file, 'tamper');
  expect(cli('snapshot', 'list')).toMatchObject({
    status: 1,
    stdout: expect.stringMatching(new RegExp(`${id}.* CHANGED`)),
  });
  expect(cli('snapshot', 'restore', id, '--to', 'x')).toMatchObject({
    status: 3,
    stderr: expect.stringMatching(/no longer matches its checksum/),
  });
});

hostTest()(
  "removalPolicy 'snapshot' takes a verified final snapshot, then deletes; the snapshot brings it back",
  async () => {
    const dir = await mountedDisk({ removal_policy: 'snapshot' });
    fs.writeFileSync(`${dir}/db.sqlite`, 'rows');
    await remove(mountHandler, ctx(), mount());
    await remove(storageHandler, ctx(), storage());
    expect(fs.existsSync(imagePath(host.root, 'disk', 'app', 'data'))).toBe(false);
    const [final] = listSnapshots(ctx(), 'data');
    expect(final).toMatchObject({ trigger: 'final', final: true });
    expect(cli('snapshot', 'delete', final.id)).toMatchObject({
      status: 3,
      stderr: expect.stringMatching(/is the last copy of disk data/),
    });
    expect(cli('snapshot', 'restore', final.id, '--to', 'data').status).toBe(0);
    await converge(storageHandler, ctx(), storage());
    await converge(mountHandler, ctx(), mount());
    expect(fs.readFileSync(`${dir}/db.sqlite`, 'utf8')).toBe('rows');
  },
);

hostTest()('directory volumes are snapshotted as a tree and restored', async () => {
  await converge(storageHandler, ctx(), storage({ kind: 'directory', name: 'uploads', size_gb: '', filesystem: '' }));
  const dir = `${host.root}/projects/app/directories/uploads`;
  fs.mkdirSync(`${dir}/a/b`, { recursive: true });
  fs.writeFileSync(`${dir}/a/b/photo.jpg`, 'jpeg');
  const id = JSON.parse(cli('snapshot', 'create', 'uploads', '--json').stdout).id;
  fs.rmSync(`${dir}/a`, { recursive: true });
  expect(cli('snapshot', 'restore', id, '--to', 'uploads-back').status).toBe(0);
  expect(fs.readFileSync(`${host.root}/projects/app/directories/uploads-back/a/b/photo.jpg`, 'utf8')).toBe('jpeg');
  expect(cli('snapshot', 'delete', id).status).toBe(0);
  expect(listSnapshots(ctx())).toEqual([]);
});

hostTest()('fromSnapshot creates new storage as a verified copy, grown to sizeGb', async () => {
  const dir = await mountedDisk();
  fs.writeFileSync(`${dir}/weights.bin`, 'model');
  const id = JSON.parse(cli('snapshot', 'create', 'data', '--json').stdout).id;
  await converge(storageHandler, ctx(), storage({ name: 'clone', size_gb: '2', from_snapshot: id }));
  await converge(mountHandler, ctx(), mount({ storage: 'clone', service: 'clone', mount_path: '/clone' }));
  const clone = mount({ service: 'clone', mount_path: '/clone' }).host_path;
  expect(fs.readFileSync(`${clone}/weights.bin`, 'utf8')).toBe('model');
  expect(fs.statfsSync(clone).blocks * fs.statfsSync(clone).bsize).toBeGreaterThan(1.5 * 1024 ** 3);
  await expect(
    converge(storageHandler, ctx(), storage({ name: 'bad', from_snapshot: 'nope.20260101T000000Z' })),
  ).rejects.toThrow(/no snapshot 'nope.20260101T000000Z'/);
  expect(fs.existsSync(imagePath(host.root, 'disk', 'app', 'bad'))).toBe(false);
});

hostTest('mkfs.xfs')('an xfs disk and its restored clone (same UUID) are mounted side by side', async () => {
  const dir = await mountedDisk({ filesystem: 'xfs' });
  fs.writeFileSync(`${dir}/f`, 'xfs data');
  const id = JSON.parse(cli('snapshot', 'create', 'data', '--json').stdout).id;
  expect(cli('snapshot', 'restore', id, '--to', 'twin').status).toBe(0);
  await converge(storageHandler, ctx(), storage({ name: 'twin', filesystem: 'xfs' }));
  await converge(mountHandler, ctx(), mount({ storage: 'twin', service: 'twin', mount_path: '/twin' }));
  expect(fs.readFileSync(`${mount({ service: 'twin', mount_path: '/twin' }).host_path}/f`, 'utf8')).toBe('xfs data');
});

hostTest('mkfs.xfs')(
  'on an xfs root a mounted disk is snapshotted by reflink; its checksum is taken by the first verification',
  async () => {
    // GIVEN a hoststore root on a reflink-capable xfs filesystem
    const backing = path.join(host.root, 'xfs-root.img');
    execFileSync('truncate', ['-s', '4G', backing]);
    execFileSync('mkfs.xfs', ['-q', '-m', 'reflink=1', backing]);
    const root = path.join(host.root, 'xfs');
    fs.mkdirSync(root);
    execFileSync('mount', ['-o', 'loop', backing, root]);
    try {
      await reflinkSnapshotOn(root);
    } finally {
      simulateReboot(root); // the disk's mount and loop device, before the xfs root itself goes
    }
  },
);

async function reflinkSnapshotOn(root: string): Promise<void> {
  const xctx = () => makeContext(root, { log: () => undefined });
  await converge(storageHandler, xctx(), storageHandler.validate(storageWire(root)));
  await converge(mountHandler, xctx(), mountHandler.validate(mountWire(root)));
  fs.writeFileSync(`${mountWire(root).host_path}/f`, 'reflinked');
  // WHEN a snapshot is taken
  const taken = JSON.parse(hoststore(['snapshot', 'create', 'data', '--json', '--root', root]).stdout);
  // THEN it is a reflink with its checksum pending, established by the first list, and tampering shows
  expect(taken).toMatchObject({ method: 'reflink', checksumPending: true, sha256: '' });
  expect(hoststore(['snapshot', 'list', '--root', root])).toMatchObject({
    status: 0,
    stdout: expect.stringMatching(/reflink.*ok/),
  });
  expect(listSnapshots(xctx())[0]).toMatchObject({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  expect(listSnapshots(xctx())[0].checksumPending).toBeUndefined();
  fs.chmodSync(taken.path, 0o644);
  fs.appendFileSync(taken.path, 'x');
  expect(hoststore(['snapshot', 'list', '--root', root])).toMatchObject({
    status: 1,
    stdout: expect.stringMatching(new RegExp(`${taken.id}.* CHANGED`)),
  });
}
