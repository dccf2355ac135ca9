import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { imagePath } from '../../src/schema.js';
import { Registry } from '../../provider/registry/store.js';
import {
  hostLoopsUnder,
  hostTest,
  makeHostFixture,
  simulateReboot,
  type HostFixture,
} from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { hoststore, hoststoreAsync } from '../helpers/cli.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => host.cleanup());

const loopsOf = (image: string) =>
  execFileSync('losetup', ['--list', '--raw', '--noheadings', '-O', 'NAME,BACK-FILE'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.endsWith(` ${image}`));

hostTest()('handle converge/delete through the CLI; list --json shows what was made', () => {
  expect(hoststore(['handle', 'storage', 'converge'], storageWire(host.root, { size_gb: '3' }))).toMatchObject({
    status: 0,
  });
  expect(hoststore(['handle', 'mount', 'converge'], mountWire(host.root))).toMatchObject({ status: 0 });
  const listed = JSON.parse(hoststore(['list', '--json', '--root', host.root]).stdout);
  expect(listed).toEqual([
    expect.objectContaining({
      name: 'data',
      kind: 'disk',
      sizeGb: 3,
      filesystem: 'ext4',
      state: 'mounted',
      allocatedBytes: expect.any(Number),
      mounts: [
        expect.objectContaining({
          service: 'web',
          replica: 1,
          hostPath: mountWire(host.root).host_path,
          readOnly: false,
        }),
      ],
      lease: expect.objectContaining({ service: 'web', replica: 1 }),
    }),
  ]);
  expect(hoststore(['lease-list', '--root', host.root]).stdout).toMatch(/data\s+app\/web\s+1/);
  expect(hoststore(['status', 'data', '--root', host.root]).stdout).toMatch(/state:\s+mounted/);
  // delete refuses while mounted, and refuses without a terminal to confirm on
  const refused = hoststore(['delete', 'data', '--root', host.root]);
  expect(refused).toMatchObject({
    status: 3,
    stderr: expect.stringMatching(
      /disk data is mounted by app\/web replica 1 .*; remove its Mounts first, or pass --force/,
    ),
  });
  expect(hoststore(['delete', 'data', '--force', '--root', host.root])).toMatchObject({
    status: 2,
    stderr: expect.stringMatching(/no terminal to confirm on; pass --yes/),
  });
  expect(hoststore(['delete', 'data', '--force', '--yes', '--root', host.root])).toMatchObject({ status: 0 });
  expect(fs.existsSync(imagePath(host.root, 'disk', 'app', 'data'))).toBe(false);
  expect(hostLoopsUnder(host.root)).toEqual([]);
});

hostTest()('a tampered spec is refused naming field, rule and value, before anything is made', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ name: '../../etc' }, /name: must contain only letters, digits and hyphens.* \(got "..\/..\/etc"\)/],
    [{ name: 'x; rm -rf /' }, /name: must contain only letters, digits and hyphens/],
    [{ name: '$(reboot)' }, /name: must contain only/],
    [{ size_gb: '10; echo' }, /size_gb: must be a whole number written in digits \(got "10; echo"\)/],
    [{ size_gb: '999999999' }, /size_gb: must be a whole number from 1 to 65536/],
    [{ filesystem: 'ntfs' }, /filesystem: /],
    [{ root: '/etc' }, /root: must not be a system directory/],
  ];
  for (const [override, message] of cases) {
    const result = hoststore(['handle', 'storage', 'converge'], storageWire(host.root, override));
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^hoststore: storage spec rejected: /);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  }
  const extra = hoststore(['handle', 'storage', 'converge'], { ...storageWire(host.root), command: 'rm -rf /' });
  expect(extra).toMatchObject({
    status: 2,
    stderr: expect.stringMatching(/Unrecognized key\(s\) in object: 'command'/),
  });
  const wrongHostPath = hoststore(['handle', 'mount', 'converge'], mountWire(host.root, { host_path: '/etc' }));
  expect(wrongHostPath).toMatchObject({
    status: 2,
    stderr: expect.stringMatching(/host_path: must be .*derived from root/),
  });
  expect(fs.readdirSync(host.root)).toEqual([]);
});

hostTest()('no space left for mkfs: a clear error and no half-made disk', () => {
  // GIVEN a root on a tiny, almost full filesystem
  const small = `${host.root}/small.img`;
  execFileSync('truncate', ['-s', '16M', small]);
  execFileSync('mkfs.ext4', ['-q', small]);
  const root = `${host.root}/tiny`;
  fs.mkdirSync(root);
  execFileSync('mount', ['-o', 'loop', small, root]);
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${root}/filler`, 'bs=1M', 'count=64'], { stdio: 'ignore' });
  } catch {
    /* dd stops when the filesystem is full, which is the point */
  }
  // WHEN a disk is created there
  const result = hoststore(['handle', 'storage', 'converge'], storageWire(root, { size_gb: '1' }));
  // THEN it fails with mkfs's reason and leaves neither image nor record
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/hoststore: mkfs.ext4 failed: .*(No space left|space)/i);
  expect(result.stderr).toMatch(/command: .*mkfs\.ext4/);
  expect(result.stderr).toMatch(/exit code: \d+/);
  expect(fs.existsSync(imagePath(root, 'disk', 'app', 'data'))).toBe(false);
  expect(new Registry(root).storage('disk', 'app', 'data')).toBeUndefined();
});

hostTest()('two deploys at once serialize on the root lock; a waiter that gives up names the holder', async () => {
  const specs = ['a', 'b', 'c', 'd'].map((name) => storageWire(host.root, { name }));
  const runs = specs.map((spec) => hoststoreAsync(['handle', 'storage', 'converge'], spec));
  const results = await Promise.all(runs.map((r) => r.done));
  expect(results.map((r) => r.status)).toEqual([0, 0, 0, 0]);
  // a holder that never lets go: the waiter fails after its bound, naming it
  fs.mkdirSync(`${host.root}/registry`, { recursive: true });
  fs.writeFileSync(
    `${host.root}/registry/lock`,
    JSON.stringify({ pid: process.pid, holder: 'cdktf deploy of stack web', since: '2026-01-01T00:00:00Z' }),
  );
  const blocked = hoststore(['handle', 'storage', 'converge'], storageWire(host.root, { name: 'e' }), {
    HOSTSTORE_LOCK_TIMEOUT_MS: '300',
  });
  expect(blocked).toMatchObject({
    status: 4,
    stderr: expect.stringMatching(
      /is locked by cdktf deploy of stack web \(pid \d+, since 2026-01-01T00:00:00Z\); gave up after 300 ms/,
    ),
  });
  fs.rmSync(`${host.root}/registry/lock`);
});

hostTest()('kill -9 during create, then a rerun: converged, nothing leaked', async () => {
  for (const delayMs of [60, 150, 190, 230, 270]) {
    const name = `k${delayMs}`;
    const spec = storageWire(host.root, { name, size_gb: '2' });
    const run = hoststoreAsync(['handle', 'storage', 'converge'], spec);
    await new Promise((r) => setTimeout(r, delayMs));
    run.child.kill('SIGKILL');
    await run.done;
    const mountSpec = mountWire(host.root, { storage: name, mount_path: `/${name}` });
    const rerun = hoststore(['handle', 'storage', 'converge'], spec);
    expect(rerun).toMatchObject({ status: 0 });
    expect(hoststore(['handle', 'mount', 'converge'], mountSpec)).toMatchObject({ status: 0 });
    expect(
      execFileSync('blkid', ['-p', '-o', 'value', '-s', 'TYPE', imagePath(host.root, 'disk', 'app', name)], {
        encoding: 'utf8',
      }).trim(),
    ).toBe('ext4');
    expect(hoststore(['handle', 'mount', 'delete'], mountSpec)).toMatchObject({ status: 0 });
    expect(loopsOf(imagePath(host.root, 'disk', 'app', name))).toEqual([]);
  }
});

hostTest()('up re-mounts what the registry says after a reboot, and is idempotent', () => {
  expect(hoststore(['handle', 'storage', 'converge'], storageWire(host.root))).toMatchObject({ status: 0 });
  expect(hoststore(['handle', 'mount', 'converge'], mountWire(host.root))).toMatchObject({ status: 0 });
  fs.writeFileSync(`${mountWire(host.root).host_path}/f`, 'x');
  simulateReboot(host.root);
  expect(hostLoopsUnder(host.root)).toEqual([]);
  expect(hoststore(['up', '--root', host.root])).toMatchObject({
    status: 0,
    stdout: expect.stringMatching(/up: 1 of 1 mounts in place/),
  });
  expect(fs.readFileSync(`${mountWire(host.root).host_path}/f`, 'utf8')).toBe('x');
  expect(hoststore(['up', '--root', host.root])).toMatchObject({
    status: 0,
    stdout: expect.stringMatching(/already mounted/),
  });
});

test('usage errors exit 2 with one line', () => {
  expect(hoststore(['frobnicate'])).toMatchObject({
    status: 2,
    stderr: "hoststore: unknown command 'frobnicate'; run hoststore --help\n",
  });
  expect(hoststore(['handle', 'storage', 'converge'], undefined, { HOSTSTORE_SPEC: '' })).toMatchObject({ status: 2 });
  expect(hoststore(['handle', 'storage', 'converge'], undefined, { HOSTSTORE_SPEC: '{not json' })).toMatchObject({
    status: 2,
    stderr: expect.stringMatching(/HOSTSTORE_SPEC is not JSON/),
  });
});
