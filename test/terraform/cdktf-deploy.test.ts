/**
 * The whole path a user takes: `cdktf deploy` of a stack (terraform_data carriers) onto a temporary
 * root, then changes deployed again, then `cdktf destroy`, checking the real host after each step.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { imagePath, replicaHostPath } from '../../src/schema.js';
import { journalPath } from '../../provider/registry/journal.js';
import { Registry } from '../../provider/registry/store.js';
import { readMountTable } from '../../provider/host/mounts.js';
import { hostLoopsUnder, hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { CdktfApp, terraformAvailable, type AppModel, type StorageModel } from '../helpers/cdktf-app.js';
import { hoststore } from '../helpers/cli.js';

const haveTerraform = terraformAvailable();
if (!haveTerraform) process.stderr.write('skipping cdktf deploy tests: terraform is not on the PATH\n');
const deployTest = haveTerraform ? hostTest('mkfs.xfs') : test.skip;

let host: HostFixture;
let app: CdktfApp;
beforeEach(() => {
  host = makeHostFixture();
  app = new CdktfApp();
  // `hoststore apply` run here writes the policy's cron entry where `cdktf deploy` of the app does.
  process.env.HOSTSTORE_CRON_DIR = path.join(app.dir, 'cron.d');
});
afterEach(() => {
  delete process.env.HOSTSTORE_CRON_DIR;
  app.cleanup();
  host.cleanup();
});

const blkid = (file: string) =>
  execFileSync('blkid', ['-p', '-o', 'value', '-s', 'TYPE', file], { encoding: 'utf8' }).trim();
const entryAt = (target: string) => [...readMountTable()].reverse().find((e) => e.target === target);
const hostPath = (service: string, mountPath: string, replica = 1) =>
  replicaHostPath(host.root, 'app', service, replica, mountPath);
const journal = () => (fs.existsSync(journalPath(host.root)) ? fs.readFileSync(journalPath(host.root), 'utf8') : '');

function model(options: { pgSize?: number; readOnly?: boolean; withUploads?: boolean } = {}): AppModel {
  const storage: StorageModel[] = [
    {
      id: 'pg',
      type: 'Disk',
      props: { name: 'pg', sizeGb: options.pgSize ?? 1, filesystem: 'ext4' },
      mounts: [{ id: 'pg-mount', service: 'db', mountPath: '/var/lib/postgresql/data' }],
    },
    {
      id: 'models',
      type: 'Volume',
      props: { sizeGb: 1, shared: true },
      mounts: [
        {
          id: 'models-mount',
          service: 'inference',
          mountPath: '/models',
          replicas: 2,
          readOnly: options.readOnly ?? false,
        },
      ],
      policy: { id: 'nightly', schedule: '0 4 * * *', retentionDays: 7 },
    },
    {
      id: 'cache',
      type: 'Volume',
      props: { type: 'directory' },
      mounts: [{ id: 'cache-mount', service: 'inference', mountPath: '/cache', replicas: 2 }],
    },
  ];
  if (options.withUploads ?? true) {
    storage.push({
      id: 'uploads',
      type: 'Disk',
      props: { name: 'uploads', sizeGb: 1, filesystem: 'xfs' },
      mounts: [{ id: 'up-mount', service: 'web', mountPath: '/uploads' }],
    });
  }
  return { stack: 'e2e', root: host.root, storage };
}

deployTest('deploy, grow, toggle read-only, remove a disk, destroy: the host follows and data is kept', () => {
  // GIVEN a stack with an ext4 disk, an xfs disk, a shared volume for two replicas and a directory volume
  app.write(model());
  app.cdktf('deploy', '--auto-approve');
  // THEN images, filesystems, mounts and leases are on the host
  expect(blkid(imagePath(host.root, 'disk', 'app', 'pg'))).toBe('ext4');
  expect(blkid(imagePath(host.root, 'disk', 'app', 'uploads'))).toBe('xfs');
  expect(blkid(imagePath(host.root, 'volume', 'app', 'models'))).toBe('ext4');
  const pgPath = hostPath('db', '/var/lib/postgresql/data');
  expect(entryAt(pgPath)).toMatchObject({ fstype: 'ext4', readOnly: false });
  expect(entryAt(hostPath('inference', '/models', 2))).toMatchObject({ fstype: 'ext4' });
  expect(new Registry(host.root).lease('pg')).toBeDefined();
  // AND the policy's cron entry is in the app's own cron directory, not the host's /etc/cron.d
  expect(fs.readdirSync(path.join(app.dir, 'cron.d'))).toEqual([
    expect.stringMatching(/^hoststore-app_nightly_models_/),
  ]);
  fs.writeFileSync(`${pgPath}/PG_VERSION`, '16');
  fs.writeFileSync(`${hostPath('inference', '/models')}/weights.bin`, 'w');

  // WHEN sizeGb is raised and the stack deployed again
  const before = journal();
  app.write(model({ pgSize: 2 }));
  app.cdktf('deploy', '--auto-approve');
  // THEN the filesystem is bigger, the file intact, and the storage's delete never ran
  const statfs = fs.statfsSync(pgPath);
  expect(statfs.blocks * statfs.bsize).toBeGreaterThan(1.5 * 1024 ** 3);
  expect(fs.readFileSync(`${pgPath}/PG_VERSION`, 'utf8')).toBe('16');
  const growLines = journal().slice(before.length);
  const growEvents = growLines
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { event: string; storage: string });
  expect(growEvents).toContainEqual(expect.objectContaining({ event: 'grown', storage: 'pg' }));
  expect(growEvents.filter((e) => ['deleted', 'retained'].includes(e.event))).toEqual([]);

  // WHEN readOnly is toggled THEN both replicas' mounts follow
  app.write(model({ pgSize: 2, readOnly: true }));
  app.cdktf('deploy', '--auto-approve');
  expect(entryAt(hostPath('inference', '/models', 1))?.readOnly).toBe(true);
  expect(entryAt(hostPath('inference', '/models', 2))?.readOnly).toBe(true);
  expect(fs.readFileSync(`${hostPath('inference', '/models', 2)}/weights.bin`, 'utf8')).toBe('w');

  // WHEN a Disk is removed from the stack THEN it is unmounted and its data retained
  fs.writeFileSync(`${hostPath('web', '/uploads')}/photo.jpg`, 'jpeg');
  app.write(model({ pgSize: 2, readOnly: true, withUploads: false }));
  app.cdktf('deploy', '--auto-approve');
  expect(entryAt(hostPath('web', '/uploads'))).toBeUndefined();
  expect(fs.existsSync(imagePath(host.root, 'disk', 'app', 'uploads'))).toBe(true);
  expect(new Registry(host.root).storage('disk', 'app', 'uploads')?.state).toBe('retained');

  // WHEN the stack is destroyed THEN every mount and loop device is gone and the images remain
  app.cdktf('destroy', '--auto-approve');
  expect(readMountTable().filter((e) => e.target.startsWith(`${host.root}/`))).toEqual([]);
  expect(hostLoopsUnder(host.root)).toEqual([]);
  for (const [kind, name] of [
    ['disk', 'pg'],
    ['disk', 'uploads'],
    ['volume', 'models'],
  ] as const) {
    expect(fs.existsSync(imagePath(host.root, kind, 'app', name))).toBe(true);
  }
  // AND a redeploy adopts the retained data
  app.write(model({ pgSize: 2 }));
  app.cdktf('deploy', '--auto-approve');
  expect(fs.readFileSync(`${pgPath}/PG_VERSION`, 'utf8')).toBe('16');
  expect(fs.readFileSync(`${hostPath('web', '/uploads')}/photo.jpg`, 'utf8')).toBe('jpeg');
  app.cdktf('destroy', '--auto-approve');
});

deployTest('the embedded engine and cdktf deploy reach the same host state from the same stack', () => {
  // GIVEN the same stack deployed once by cdktf deploy and once by hoststore apply, into two roots
  const other = makeHostFixture();
  try {
    app.write(model());
    app.cdktf('deploy', '--auto-approve');
    const engineModel = { ...model(), root: other.root };
    app.write(engineModel);
    app.cdktf('synth');
    const applied = hoststore(['apply', '--app', `${app.dir}/cdktf.out`, '--auto-approve']);
    expect(applied.status).toBe(0);
    // THEN `hoststore list --json` of both roots agrees once the root and timestamps are set aside
    const normalize = (root: string) =>
      JSON.parse(hoststore(['list', '--json', '--root', root]).stdout.split(root).join('<root>'), (k, v) =>
        ['createdAt', 'since', 'allocatedBytes', 'retainedAt'].includes(k) ? undefined : v,
      );
    expect(normalize(other.root)).toEqual(normalize(host.root));
    expect(normalize(host.root)).toHaveLength(4);
    // AND each plan sees nothing to do
    expect(hoststore(['plan', '--app', `${app.dir}/cdktf.out`, '--detailed-exitcode']).status).toBe(0);
    app.write(model());
    app.cdktf('destroy', '--auto-approve');
    expect(hoststore(['destroy', '--app', `${app.dir}/cdktf.out`, '--auto-approve']).status).toBe(0);
  } finally {
    other.cleanup();
  }
});
