/**
 * Who owns storage, through the engine (`hoststore plan | apply | destroy`): the project and stack that
 * created a storage own it and its policy; another project or stack that declares it by name borrows it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, TerraformStack } from 'cdktf';
import { Disk, Mount, StorageProject, Volume } from '../../src/index.js';
import { readMountTable } from '../../provider/host/mounts.js';
import { imagePath, replicaHostPath } from '../../src/schema.js';
import { Registry } from '../../provider/registry/store.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { hoststore } from '../helpers/cli.js';

let host: HostFixture;
const outs: string[] = [];
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => {
  host.cleanup();
  for (const out of outs.splice(0)) fs.rmSync(out, { recursive: true, force: true });
});

interface DiskModel {
  readonly props: Record<string, unknown>;
  readonly mount?: { service: string; mountPath: string };
}

/** One stack of one project declaring Disk `pg`, synthesized into its own cdktf.out. */
function synth(project: string, stack: string, disk: DiskModel | undefined): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-out-'));
  outs.push(outdir);
  const app = new App({ outdir });
  const scope = new TerraformStack(app, stack);
  const p = new StorageProject(scope, 'p', { root: host.root, name: project });
  if (disk) {
    const storage = new Disk(p, 'pg', { name: 'pg', filesystem: 'ext4', ...disk.props });
    if (disk.mount) new Mount(p, 'pg-mount', { storage, ...disk.mount });
  }
  app.synth();
  return outdir;
}

const image = () => imagePath(host.root, 'disk', 'alpha', 'pg');
const record = () => new Registry(host.root).storage('disk', 'alpha', 'pg');
const apply = (out: string, ...extra: string[]) => hoststore(['apply', '--app', out, '--auto-approve', ...extra]);

/** Project alpha, stack web: creates Disk pg (retain), mounted for db at /data, with a file in it. */
function deployOwner(): string {
  const out = synth('alpha', 'web', { props: { sizeGb: 1 }, mount: { service: 'db', mountPath: '/data' } });
  expect(apply(out)).toMatchObject({ status: 0 });
  fs.writeFileSync(path.join(replicaHostPath(host.root, 'alpha', 'db', 1, '/data'), 'PG_VERSION'), '16');
  return out;
}

const ownerData = () =>
  fs.readFileSync(path.join(replicaHostPath(host.root, 'alpha', 'db', 1, '/data'), 'PG_VERSION'), 'utf8');

hostTest()(
  'a borrower in another project (same stack name) cannot take over the policy, and its destroy keeps the data',
  () => {
    // GIVEN project alpha (stack web) created Disk pg with the default policy, retain
    const ownerOut = deployOwner();
    const before = record();
    // WHEN project beta, also stack web, declares Disk pg with removalPolicy 'destroy'
    const borrower = synth('beta', 'web', { props: { sizeGb: 1, removalPolicy: 'destroy' } });
    const planned = hoststore(['plan', '--app', borrower]);
    // THEN the plan refuses the policy change, naming the owner and the way out
    expect(planned.stdout).toMatch(/disk pg {2}\[refused\]/);
    expect(planned.stdout).toMatch(/belongs to project alpha \(stack web\)/);
    expect(planned.stdout).toMatch(/removalPolicy: 'retain'/);
    const applied = apply(borrower, '--allow-data-loss', 'pg');
    expect(applied.status).toBe(3);
    expect(record()).toEqual(before);
    // WHEN beta's stack is destroyed (even naming pg for data loss)
    const destroyed = hoststore(['destroy', '--app', borrower, '--auto-approve', '--allow-data-loss', 'pg']);
    expect(destroyed.stderr).toBe('');
    expect(destroyed.status).toBe(0);
    // THEN alpha's image, record and mount are untouched
    expect(fs.existsSync(image())).toBe(true);
    expect(record()).toEqual(before);
    expect(ownerData()).toBe('16');
    // AND the owner's plan has nothing to do (no flip-flop)
    expect(hoststore(['plan', '--app', ownerOut, '--detailed-exitcode'])).toMatchObject({ status: 0 });
  },
);

hostTest()(
  'two stacks of one project: the second stack borrows, its plan is stable, its destroy releases only its own',
  () => {
    // GIVEN stack web of project alpha owns Disk pg
    const ownerOut = deployOwner();
    const before = record();
    // WHEN stack jobs of the same project declares Disk pg with the same policy (no mount: the lease is web's)
    const sameName = synth('alpha', 'jobs', { props: { sizeGb: 1 } });
    expect(apply(sameName)).toMatchObject({ status: 0 });
    // THEN the record still names its owner, and neither stack's plan flips it back and forth
    expect(record()).toEqual(before);
    expect(hoststore(['plan', '--app', sameName, '--detailed-exitcode'])).toMatchObject({
      status: 0,
      stdout: expect.stringMatching(/borrowed from project alpha \(stack web\)/),
    });
    expect(hoststore(['plan', '--app', ownerOut, '--detailed-exitcode'])).toMatchObject({ status: 0 });
    // WHEN jobs declares removalPolicy 'destroy' or a larger size
    const destroyPolicy = hoststore([
      'plan',
      '--app',
      synth('alpha', 'jobs', { props: { sizeGb: 1, removalPolicy: 'destroy' } }),
    ]);
    expect(destroyPolicy.stdout).toMatch(/\[refused\][\s\S]*belongs to project alpha \(stack web\)/);
    const larger = hoststore(['plan', '--app', synth('alpha', 'jobs', { props: { sizeGb: 3 } })]);
    expect(larger.stdout).toMatch(/\[refused\][\s\S]*belongs to project alpha \(stack web\)[\s\S]*sizeGb/);
    // WHEN jobs is removed from its code, then destroyed
    expect(apply(synth('alpha', 'jobs', undefined))).toMatchObject({ status: 0 });
    expect(hoststore(['destroy', '--app', sameName, '--auto-approve']).status).toBe(0);
    // THEN web's disk is as it was: ready, its owner, its data
    expect(record()).toEqual(before);
    expect(ownerData()).toBe('16');
  },
);

hostTest()('retained storage has no owner: the next project that declares it adopts it and its policy', () => {
  // GIVEN alpha's disk was retained (alpha destroyed, policy retain)
  const ownerOut = deployOwner();
  expect(hoststore(['destroy', '--app', ownerOut, '--auto-approve']).status).toBe(0);
  expect(record()).toMatchObject({ state: 'retained', project: 'alpha' });
  // WHEN project beta declares Disk pg with removalPolicy 'snapshot'
  const adopter = synth('beta', 'api', { props: { removalPolicy: 'snapshot' } });
  expect(hoststore(['plan', '--app', adopter]).stdout).toMatch(/<= adopt +disk pg {2}\[safe\]/);
  expect(apply(adopter)).toMatchObject({ status: 0 });
  // THEN beta owns it now
  expect(record()).toMatchObject({ state: 'ready', project: 'beta', stack: 'api', removalPolicy: 'snapshot' });
  expect(hoststore(['plan', '--app', adopter, '--detailed-exitcode'])).toMatchObject({ status: 0 });
});

hostTest()('the owner removing storage a borrower still mounts: refused in the plan, and nothing is unmounted', () => {
  // GIVEN stack web owns shared Volume data (removalPolicy destroy) mounted by api; stack jobs borrows it for worker
  const volumeStack = (stack: string, service: string | undefined) => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-out-'));
    outs.push(outdir);
    const app = new App({ outdir });
    const p = new StorageProject(new TerraformStack(app, stack), 'p', { root: host.root, name: 'app' });
    if (service) {
      const storage = new Volume(p, 'data', { sizeGb: 1, shared: true, removalPolicy: 'destroy' });
      new Mount(p, 'data-mount', { storage, service, mountPath: '/data' });
    }
    app.synth();
    return outdir;
  };
  expect(apply(volumeStack('web', 'api'))).toMatchObject({ status: 0 });
  expect(apply(volumeStack('jobs', 'worker'))).toMatchObject({ status: 0 });
  const apiPath = replicaHostPath(host.root, 'app', 'api', 1, '/data');
  const workerPath = replicaHostPath(host.root, 'app', 'worker', 1, '/data');
  fs.writeFileSync(path.join(apiPath, 'f'), 'kept');
  // WHEN web removes the volume from its code
  const removed = volumeStack('web', undefined);
  const planned = hoststore(['plan', '--app', removed]);
  // THEN the plan refuses, naming the borrower's mount, and applying changes nothing
  expect(planned.stdout).toMatch(/\[refused\][\s\S]*worker replica 1/);
  expect(apply(removed, '--allow-data-loss', 'data')).toMatchObject({ status: 3 });
  const mounted = (target: string) => readMountTable().some((e) => e.target === target);
  expect(mounted(apiPath)).toBe(true);
  expect(mounted(workerPath)).toBe(true);
  expect(fs.readFileSync(path.join(workerPath, 'f'), 'utf8')).toBe('kept');
});
