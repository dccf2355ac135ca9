/**
 * Registry keys are unambiguous (names may hold `--`, which older keys joined parts with), and a root
 * written with the old keys is read and carried over: records re-keyed, snapshot references and cron
 * files with them. Driven through the real CLI, as Terraform's provisioners run it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Registry, type MountRecord, type StorageRecord } from '../../provider/registry/store.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { hoststore } from '../helpers/cli.js';
import { cronEntryPath } from '../../provider/handlers/snapshot-policy.js';

let host: HostFixture;
let cronDir: string;
beforeEach(() => {
  host = makeHostFixture();
  cronDir = path.join(host.root, 'cron.d');
});
afterEach(() => host.cleanup());

const env = () => ({ HOSTSTORE_CRON_DIR: cronDir });
/** The cron file name of policy `policy` of storage `storage` in project p on this root. */
const cronName = (policy: string, storage: string) =>
  path.basename(cronEntryPath({ root: host.root, project: 'p', policy, storage }));
function handle(kind: string, op: string, spec: unknown): void {
  const result = hoststore(['handle', kind, op], spec, env());
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
}
const policyWire = (overrides: Record<string, string>) => ({
  root: host.root,
  project: 'p',
  policy: 'nightly',
  storage: 'data',
  storage_kind: 'directory',
  stack: 'test',
  schedule: '0 4 * * *',
  retention_days: '',
  retention_count: '3',
  ...overrides,
});
const collection = (name: string) =>
  JSON.parse(fs.readFileSync(host.path('registry', `${name}.json`), 'utf8')).records as Record<
    string,
    Record<string, unknown>
  >;

hostTest()('project a--b volume c and project a volume b--c are two storages, two records', () => {
  handle('storage', 'converge', storageWire(host.root, { kind: 'volume', project: 'a--b', name: 'c' }));
  handle('storage', 'converge', storageWire(host.root, { kind: 'volume', project: 'a', name: 'b--c' }));
  const records = Object.values(collection('storage')) as unknown as StorageRecord[];
  expect(records.map((r) => `${r.project}/${r.name}`).sort()).toEqual(['a--b/c', 'a/b--c']);
  expect(fs.existsSync(host.path('projects', 'a--b', 'volumes', 'c.img'))).toBe(true);
  expect(fs.existsSync(host.path('projects', 'a', 'volumes', 'b--c.img'))).toBe(true);
  // a second converge of each finds its own record: no change, nothing replaced
  expect(
    hoststore(
      ['handle', 'storage', 'converge'],
      storageWire(host.root, { kind: 'volume', project: 'a--b', name: 'c' }),
      env(),
    ).stdout,
  ).not.toMatch(/creat/i);
});

hostTest()('project a--b service c and project a service b--c mount at one path: two mount records', () => {
  for (const [project, service] of [
    ['a--b', 'c'],
    ['a', 'b--c'],
  ]) {
    handle(
      'storage',
      'converge',
      storageWire(host.root, { kind: 'directory', project, name: 'data', size_gb: '', filesystem: '' }),
    );
    handle('mount', 'converge', mountWire(host.root, { project, service, storage: 'data', storage_kind: 'directory' }));
  }
  const mounts = Object.values(collection('mounts')) as unknown as MountRecord[];
  expect(mounts.map((m) => `${m.project}/${m.service}`).sort()).toEqual(['a--b/c', 'a/b--c']);
});

hostTest()('policy b--c on storage d and policy b on storage c--d are two records and two cron files', () => {
  for (const name of ['d', 'c--d'])
    handle(
      'storage',
      'converge',
      storageWire(host.root, { kind: 'directory', project: 'p', name, size_gb: '', filesystem: '' }),
    );
  handle('snapshot-policy', 'converge', policyWire({ policy: 'b--c', storage: 'd' }));
  handle('snapshot-policy', 'converge', policyWire({ policy: 'b', storage: 'c--d', schedule: '0 5 * * *' }));
  const policies = Object.values(collection('policies'));
  expect(policies.map((p) => `${p.policy} of ${p.storage}: ${p.schedule}`).sort()).toEqual([
    'b of c--d: 0 5 * * *',
    'b--c of d: 0 4 * * *',
  ]);
  expect(fs.readdirSync(cronDir).sort()).toEqual([cronName('b--c', 'd'), cronName('b', 'c--d')].sort());
  // WHEN one is deleted THEN the other keeps its record and its cron file
  handle('snapshot-policy', 'delete', policyWire({ policy: 'b', storage: 'c--d' }));
  expect(Object.values(collection('policies')).map((p) => p.policy)).toEqual(['b--c']);
  expect(fs.readdirSync(cronDir)).toEqual([cronName('b--c', 'd')]);
});

hostTest()('a root written with the old keys is read under the new ones and carried over on the next write', () => {
  // GIVEN a root as an earlier build left it: keys joined with `--`, a policy's cron file named after its key
  for (const name of ['data', 'logs'])
    handle(
      'storage',
      'converge',
      storageWire(host.root, { kind: 'directory', project: 'p', name, size_gb: '', filesystem: '' }),
    );
  handle(
    'mount',
    'converge',
    mountWire(host.root, { project: 'p', service: 'web', storage: 'data', storage_kind: 'directory' }),
  );
  const rewrite = (name: string, key: (record: Record<string, unknown>) => string) => {
    const records = Object.fromEntries(Object.values(collection(name)).map((r) => [key(r), r]));
    fs.writeFileSync(host.path('registry', `${name}.json`), JSON.stringify({ version: 1, records }));
  };
  rewrite('storage', (r) => `${r.kind}--${r.project}--${r.name}`);
  const mountRecord = Object.values(collection('mounts'))[0];
  const oldMountKey = Object.keys(collection('mounts'))[0].split('_').join('--');
  rewrite('mounts', () => oldMountKey);
  const policy = {
    project: 'p',
    stack: 'test',
    policy: 'night--ly',
    storage: 'data',
    storageKind: 'directory',
    schedule: '0 4 * * *',
    retentionCount: 3,
    createdAt: '2026-11-20T12:00:00.000Z',
    updatedAt: '2026-11-20T12:00:00.000Z',
    lastRunAt: '2026-11-21T04:00:00.000Z',
  };
  fs.writeFileSync(
    host.path('registry', 'policies.json'),
    JSON.stringify({ version: 1, records: { 'p--night--ly--data': policy } }),
  );
  const snapshot = {
    id: 'data.20261121T040000Z',
    kind: 'directory',
    project: 'p',
    storage: 'data',
    path: host.path('snapshots', 'x'),
    createdAt: '2026-11-21T04:00:00.000Z',
    trigger: 'schedule',
    policy: 'p--night--ly--data',
    method: 'sparse-copy',
    frozenMs: 0,
    sha256: 'x',
  };
  fs.writeFileSync(
    host.path('registry', 'snapshots.json'),
    JSON.stringify({ version: 1, records: { [snapshot.id]: snapshot } }),
  );
  fs.mkdirSync(cronDir);
  const oldCron = path.join(cronDir, 'hoststore-p--night--ly--data');
  fs.writeFileSync(oldCron, `* * * * * root /usr/bin/node /x/cli.js snapshot run-due --root ${host.root} >/dev/null\n`);
  // and a cron file of the same old name for another root, which is not ours to remove
  const otherRootCron = path.join(cronDir, 'hoststore-p--night--ly--logs');
  fs.writeFileSync(
    otherRootCron,
    '* * * * * root /usr/bin/node /x/cli.js snapshot run-due --root /srv/other >/dev/null\n',
  );

  // WHEN it is read THEN every record is found under its new key
  const registry = new Registry(host.root);
  expect(registry.storage('directory', 'p', 'data')).toMatchObject({ name: 'data' });
  expect(registry.list('storage').map((e) => e.key)).toEqual(['directory_p_data', 'directory_p_logs']);
  expect(registry.mounts()).toEqual([mountRecord]);
  expect(registry.list('snapshots')[0].record).toMatchObject({ policy: 'p_night--ly_data' });
  // the CLI sees them too (list joins storage and mounts by record content)
  const listed = JSON.parse(hoststore(['list', '--json', '--root', host.root], undefined, env()).stdout) as Array<{
    name: string;
    mounts: unknown[];
  }>;
  expect(listed.map((i) => `${i.name}:${i.mounts.length}`).sort()).toEqual(['data:1', 'logs:0']);

  // WHEN the mount and the policy converge again THEN nothing is recreated: the mount is unchanged, and the
  // policy's only change is its cron file, which replaces the old one (never both running)
  const mountRun = hoststore(
    ['handle', 'mount', 'converge'],
    mountWire(host.root, { project: 'p', service: 'web', storage: 'data', storage_kind: 'directory' }),
    env(),
  );
  expect(mountRun.status).toBe(0);
  expect(mountRun.stdout).not.toMatch(/mounted|creat/i);
  handle('snapshot-policy', 'converge', policyWire({ policy: 'night--ly', storage: 'data' }));
  expect(fs.readdirSync(cronDir).sort()).toEqual(['hoststore-p--night--ly--logs', cronName('night--ly', 'data')]);
  expect(fs.readFileSync(otherRootCron, 'utf8')).toMatch(/--root \/srv\/other /);
  // THEN the written collections hold the new keys, and the policy kept its history
  expect(Object.keys(collection('policies'))).toEqual(['p_night--ly_data']);
  expect(collection('policies')['p_night--ly_data']).toMatchObject({
    createdAt: policy.createdAt,
    lastRunAt: policy.lastRunAt,
  });
  // an owner's change (its removal policy) writes the collection
  handle(
    'storage',
    'converge',
    storageWire(host.root, {
      kind: 'directory',
      project: 'p',
      name: 'logs',
      size_gb: '',
      filesystem: '',
      removal_policy: 'destroy',
    }),
  );
  expect(Object.keys(collection('storage'))).toEqual(['directory_p_data', 'directory_p_logs']);
});
