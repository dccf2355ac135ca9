/**
 * Refactors, destroys and Terraform operations on a deployed stack (real cdktf synth and terraform): nothing
 * the code declares is deleted, retained or unmounted; what is no longer declared is retired exactly as its
 * policy says. Only the manifest acts on the host: its converge (created before the manifest it replaces
 * is destroyed) and its destroy-time retirement. REVIEW_REPEAT=n runs each n times (Terraform walks its
 * graph with 10 goroutines, so ordering varies); REVIEW_ONLY=<regex> picks tests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { imagePath, stagingPath } from '../../src/schema.js';
import { Registry } from '../../provider/registry/store.js';
import { hostLoopsUnder, hostMountsUnder, hostTest } from '../helpers/host-fixture.js';
import { terraformAvailable } from '../helpers/cdktf-app.js';
import { ok, type Deployment, type StepModel } from '../helpers/deployment.js';
import {
  address,
  deployOk,
  deploySuite,
  disk,
  mark,
  marker,
  mountedAt,
  svcPath,
  vol,
} from '../helpers/deploy-suite.js';

const haveTerraform = terraformAvailable();
if (!haveTerraform) process.stderr.write('skipping refactor and destroy tests: terraform is not on the PATH\n');
const deployTest = haveTerraform ? hostTest() : test.skip;
const REPEAT = Number(process.env.REVIEW_REPEAT ?? 1);
const ONLY = process.env.REVIEW_ONLY ? new RegExp(process.env.REVIEW_ONLY) : undefined;

/** `fn` as REPEAT tests (each with its own deployment). */
function repeated(name: string, fn: () => void) {
  for (let run = 1; run <= REPEAT; run += 1) {
    const t = ONLY && !ONLY.test(name) ? test.skip : deployTest;
    t(`${name} (run ${run})`, fn, 600_000);
  }
}

const suite = deploySuite('hoststore-refactors');
const deployment = (stack?: string) => suite.deployment(stack);
const otherRoot = () => suite.otherRoot();

const reg = (d: Deployment | string) => new Registry(typeof d === 'string' ? d : d.root);
const volRecord = (root: string, name: string, project = 'app') => reg(root).storage('volume', project, name);
const finalSnapshots = (root: string, storage: string) =>
  reg(root)
    .list<{ storage: string; final?: boolean }>('snapshots')
    .map((e) => e.record)
    .filter((s) => s.storage === storage);
/** Whether a loop device is attached to `file` (also as "(deleted)"). */
function looped(file: string): boolean {
  for (const name of fs.readdirSync('/sys/block').filter((n) => /^loop\d+$/.test(n))) {
    try {
      const back = fs
        .readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8')
        .trim()
        .replace(/ \(deleted\)$/, '');
      if (back === file) return true;
    } catch {
      /* not attached */
    }
  }
  return false;
}
const noChanges = (d: Deployment) => expect(d.apply().output).toMatch(/No changes/);

// ---------------------------------------------------------------------------------------------------------
// Renames retire the old storage exactly as its policy says, once, by the converge.

repeated("rename a volume with removalPolicy 'destroy': the old one is deleted once, the new one mounted", () => {
  const d = deployment();
  deployOk(d, { storage: [vol('a', 'x', 'destroy')] });
  mark(d.root, 'svc-a', 'x');
  const rename = d.deploy({ storage: [vol('a', 'z', 'destroy')] });
  expect(ok(rename)).toEqual({ status: 0, output: '' });
  expect(rename.output.match(/volume x: deleted/g)?.length).toBe(1);
  expect(volRecord(d.root, 'x')).toBeUndefined();
  expect(fs.existsSync(imagePath(d.root, 'volume', 'app', 'x'))).toBe(false);
  expect(looped(imagePath(d.root, 'volume', 'app', 'x'))).toBe(false);
  expect(mountedAt(stagingPath(d.root, 'volume', 'app', 'x'))).toBe(false);
  expect(volRecord(d.root, 'z')?.state).not.toBe('retained');
  expect(mountedAt(svcPath(d.root, 'svc-a'))).toBe(true);
  expect(marker(d.root, 'svc-a')).toBeUndefined();
  noChanges(d);
});

repeated("rename a volume with removalPolicy 'snapshot': one final snapshot, then deleted", () => {
  const d = deployment();
  deployOk(d, { storage: [vol('a', 'x', 'snapshot')] });
  mark(d.root, 'svc-a', 'x');
  deployOk(d, { storage: [vol('a', 'z', 'snapshot')] });
  expect(finalSnapshots(d.root, 'x')).toHaveLength(1);
  expect(volRecord(d.root, 'x')).toBeUndefined();
  expect(fs.existsSync(imagePath(d.root, 'volume', 'app', 'x'))).toBe(false);
  expect(mountedAt(svcPath(d.root, 'svc-a'))).toBe(true);
  noChanges(d);
});

repeated("rename a volume with removalPolicy 'retain': retained (not mounted), the new one mounted", () => {
  const d = deployment();
  deployOk(d, { storage: [vol('a', 'x', 'retain')] });
  mark(d.root, 'svc-a', 'x');
  deployOk(d, { storage: [vol('a', 'z', 'retain')] });
  expect(volRecord(d.root, 'x')?.state).toBe('retained');
  expect(fs.existsSync(imagePath(d.root, 'volume', 'app', 'x'))).toBe(true);
  expect(mountedAt(stagingPath(d.root, 'volume', 'app', 'x'))).toBe(false);
  expect(mountedAt(svcPath(d.root, 'svc-a'))).toBe(true);
  noChanges(d);
});

repeated('a rename in the same deploy as a refused shrink changes nothing; reverting deploys cleanly', () => {
  const d = deployment();
  const model = (aName: string, bSize: number) => ({
    storage: [vol('a', aName, 'destroy'), { ...vol('b', 'y'), props: { sizeGb: bSize, name: 'y', shared: true } }],
  });
  deployOk(d, model('x', 2));
  mark(d.root, 'svc-a', 'x');
  mark(d.root, 'svc-b', 'y');
  const refused = d.deploy(model('z', 1));
  expect(refused.status).not.toBe(0);
  expect(refused.output).toMatch(/refused/);
  // Nothing changed on the host
  expect(volRecord(d.root, 'x')?.state).not.toBe('retained');
  expect(marker(d.root, 'svc-a')).toBe('x');
  expect(marker(d.root, 'svc-b')).toBe('y');
  expect(volRecord(d.root, 'z')).toBeUndefined();
  // Reverting both deploys cleanly with the data
  deployOk(d, model('x', 2));
  expect(marker(d.root, 'svc-a')).toBe('x');
  expect(volRecord(d.root, 'x')?.state).not.toBe('retained');
  noChanges(d);
});

repeated('three volumes rotate names (retain, destroy, snapshot): all kept, data follows the name', () => {
  const d = deployment();
  deployOk(d, { storage: [vol('a', 'x', 'retain'), vol('b', 'y', 'destroy'), vol('c', 'w', 'snapshot')] });
  mark(d.root, 'svc-a', 'x');
  mark(d.root, 'svc-b', 'y');
  mark(d.root, 'svc-c', 'w');
  deployOk(d, { storage: [vol('a', 'y', 'retain'), vol('b', 'w', 'destroy'), vol('c', 'x', 'snapshot')] });
  expect([marker(d.root, 'svc-a'), marker(d.root, 'svc-b'), marker(d.root, 'svc-c')]).toEqual(['y', 'w', 'x']);
  for (const n of ['x', 'y', 'w']) expect(volRecord(d.root, n)?.state).not.toBe('retained');
  expect([volRecord(d.root, 'y')?.removalPolicy, volRecord(d.root, 'w')?.removalPolicy]).toEqual(['retain', 'destroy']);
  expect(volRecord(d.root, 'x')?.removalPolicy).toBe('snapshot');
  for (const n of ['x', 'y', 'w']) expect(finalSnapshots(d.root, n)).toHaveLength(0);
  noChanges(d);
});

repeated('rename plus removal: a takes the name of removed b (destroy); x retained, y kept', () => {
  const d = deployment();
  deployOk(d, { storage: [vol('a', 'x', 'retain'), vol('b', 'y', 'destroy')] });
  mark(d.root, 'svc-a', 'x');
  mark(d.root, 'svc-b', 'y');
  deployOk(d, { storage: [vol('a', 'y', 'retain')] });
  expect(volRecord(d.root, 'x')?.state).toBe('retained');
  expect(volRecord(d.root, 'y')?.state).not.toBe('retained');
  expect(marker(d.root, 'svc-a')).toBe('y');
  expect(mountedAt(svcPath(d.root, 'svc-b'))).toBe(false);
  noChanges(d);
});

// ---------------------------------------------------------------------------------------------------------
// Mounts

repeated('a Mount moved to another volume: the place shows the other volume, the first stays managed', () => {
  const d = deployment();
  const a = vol('a', 'x', 'destroy');
  const b = vol('b', 'y', 'destroy');
  deployOk(d, { storage: [a, b] });
  mark(d.root, 'svc-a', 'x');
  mark(d.root, 'svc-b', 'y');
  deployOk(d, {
    storage: [
      { ...a, mounts: [] },
      { ...b, mounts: [...b.mounts!, ...a.mounts!] },
    ],
  });
  expect(marker(d.root, 'svc-a')).toBe('y');
  expect(marker(d.root, 'svc-b')).toBe('y');
  expect(volRecord(d.root, 'x')?.state).not.toBe('retained');
  expect(fs.existsSync(imagePath(d.root, 'volume', 'app', 'x'))).toBe(true);
  expect(reg(d).mountsOf('volume', 'app', 'x')).toHaveLength(0);
  noChanges(d);
});

repeated("a Mount's service changes: the old place unmounted, the new one mounted with the data", () => {
  const d = deployment();
  const a = vol('a', 'x', 'destroy');
  deployOk(d, { storage: [a] });
  mark(d.root, 'svc-a', 'x');
  deployOk(d, { storage: [{ ...a, mounts: [{ id: 'a-mount', service: 'svc-c', mountPath: '/data' }] }] });
  expect(mountedAt(svcPath(d.root, 'svc-a'))).toBe(false);
  expect(marker(d.root, 'svc-c')).toBe('x');
  expect(
    reg(d)
      .mounts()
      .map((m) => m.service),
  ).toEqual(['svc-c']);
  noChanges(d);
});

repeated("a Mount's replicas 1 -> 2 -> 1 (shared volume): each replica's place follows", () => {
  const d = deployment();
  const a = (replicas: number) => ({
    ...vol('a', 'x', 'destroy'),
    mounts: [{ id: 'a-mount', service: 'svc-a', mountPath: '/data', replicas }],
  });
  deployOk(d, { storage: [a(1)] });
  mark(d.root, 'svc-a', 'x');
  deployOk(d, { storage: [a(2)] });
  expect(fs.readFileSync(path.join(svcPath(d.root, 'svc-a', '/data', 2), 'marker'), 'utf8')).toBe('x');
  deployOk(d, { storage: [a(1)] });
  expect(mountedAt(svcPath(d.root, 'svc-a', '/data', 2))).toBe(false);
  expect(marker(d.root, 'svc-a')).toBe('x');
  noChanges(d);
});

repeated("a non-shared volume's replicas 1 -> 2 -> 1 (destroy): replica 2 is made, then deleted", () => {
  const d = deployment();
  const a = (replicas: number) => ({
    id: 'a',
    type: 'Volume' as const,
    props: { sizeGb: 1, name: 'x', shared: false, removalPolicy: 'destroy' },
    mounts: [{ id: 'a-mount', service: 'svc-a', mountPath: '/data', replicas }],
  });
  deployOk(d, { storage: [a(1)] });
  mark(d.root, 'svc-a', 'x1');
  deployOk(d, { storage: [a(2)] });
  expect(volRecord(d.root, 'x-2')).toBeDefined();
  deployOk(d, { storage: [a(1)] });
  expect(volRecord(d.root, 'x-2')).toBeUndefined();
  expect(mountedAt(svcPath(d.root, 'svc-a', '/data', 2))).toBe(false);
  expect(marker(d.root, 'svc-a')).toBe('x1');
  noChanges(d);
});

repeated("a volume's shared false -> true (retain): its storage x-1 becomes x; x-1 retained, x mounted", () => {
  const d = deployment();
  const a = (shared: boolean) => ({ ...vol('a', 'x', 'retain'), props: { sizeGb: 1, name: 'x', shared } });
  deployOk(d, { storage: [a(false)] });
  mark(d.root, 'svc-a', 'x1');
  deployOk(d, { storage: [a(true)] });
  expect(volRecord(d.root, 'x-1')?.state).toBe('retained');
  expect(volRecord(d.root, 'x')?.state).not.toBe('retained');
  expect(mountedAt(svcPath(d.root, 'svc-a'))).toBe(true);
  noChanges(d);
});

// ---------------------------------------------------------------------------------------------------------
// Disks (host-wide, leased)

repeated('a Disk renamed (destroy): the old disk deleted, its lease gone, the new one leased', () => {
  const d = deployment();
  deployOk(d, { storage: [disk('a', 'd1', 'destroy')] });
  mark(d.root, 'svc-a', 'd1');
  deployOk(d, { storage: [disk('a', 'd3', 'destroy')] });
  expect(reg(d).storage('disk', 'app', 'd1')).toBeUndefined();
  expect(reg(d).lease('d1')).toBeUndefined();
  expect(fs.existsSync(imagePath(d.root, 'disk', 'app', 'd1'))).toBe(false);
  expect(reg(d).lease('d3')?.service).toBe('svc-a');
  expect(marker(d.root, 'svc-a')).toBeUndefined();
  noChanges(d);
});

// ---------------------------------------------------------------------------------------------------------
// Snapshot policies

const cronFiles = () => (fs.existsSync(suite.cronDir()) ? fs.readdirSync(suite.cronDir()) : []);
const policyRecords = (d: Deployment) =>
  reg(d)
    .list<{ policy: string; storage: string }>('policies')
    .map((e) => `${e.record.policy}:${e.record.storage}`);

repeated('a SnapshotPolicy moved to another volume: its record and cron entry follow', () => {
  const d = deployment();
  const p = { id: 'p', schedule: '0 3 * * *', retentionDays: 7 };
  deployOk(d, { storage: [vol('a', 'x', 'retain', { policy: p }), vol('b', 'y')] });
  expect(policyRecords(d)).toEqual(['p:x']);
  expect(cronFiles()).toHaveLength(1);
  const before = cronFiles()[0];
  deployOk(d, { storage: [vol('a', 'x'), vol('b', 'y', 'retain', { policy: p })] });
  expect(policyRecords(d)).toEqual(['p:y']);
  expect(cronFiles()).toHaveLength(1);
  expect(cronFiles()[0]).not.toBe(before);
  expect(fs.readFileSync(path.join(suite.cronDir(), cronFiles()[0]), 'utf8')).toMatch(/\by\b/);
  noChanges(d);
});

repeated('two SnapshotPolicies of one name swap volumes... (policy p on x and q on y become p on y, q on x)', () => {
  const d = deployment();
  const p = { id: 'p', schedule: '0 3 * * *', retentionDays: 7 };
  const q = { id: 'q', schedule: '0 4 * * *', retentionDays: 3 };
  deployOk(d, { storage: [vol('a', 'x', 'retain', { policy: p }), vol('b', 'y', 'retain', { policy: q })] });
  deployOk(d, { storage: [vol('a', 'x', 'retain', { policy: q }), vol('b', 'y', 'retain', { policy: p })] });
  expect(policyRecords(d).sort()).toEqual(['p:y', 'q:x']);
  expect(cronFiles()).toHaveLength(2);
  noChanges(d);
});

repeated('a SnapshotPolicy renamed (its construct id): the old cron entry removed, the new one written', () => {
  const d = deployment();
  deployOk(d, { storage: [vol('a', 'x', 'retain', { policy: { id: 'p', schedule: '0 3 * * *' } })] });
  deployOk(d, { storage: [vol('a', 'x', 'retain', { policy: { id: 'p2', schedule: '0 3 * * *' } })] });
  expect(policyRecords(d)).toEqual(['p2:x']);
  expect(cronFiles()).toHaveLength(1);
  noChanges(d);
});

// ---------------------------------------------------------------------------------------------------------
// Project name and root changes: the old manifest's retirement empties the old project; the converge makes the new one.

repeated('the project is renamed (volume destroy, volume retain): old retired by policy, new mounted', () => {
  const d = deployment();
  deployOk(d, { storage: [vol('a', 'x', 'destroy'), vol('b', 'y', 'retain')] });
  mark(d.root, 'svc-a', 'x');
  deployOk(d, { projectName: 'app2', storage: [vol('a', 'x', 'destroy'), vol('b', 'y', 'retain')] });
  expect(volRecord(d.root, 'x')).toBeUndefined();
  expect(volRecord(d.root, 'y')?.state).toBe('retained');
  expect(mountedAt(svcPath(d.root, 'svc-a'))).toBe(false);
  expect(mountedAt(svcPath(d.root, 'svc-b'))).toBe(false);
  expect(mountedAt(svcPath(d.root, 'svc-a', '/data', 1, 'app2'))).toBe(true);
  expect(mountedAt(svcPath(d.root, 'svc-b', '/data', 1, 'app2'))).toBe(true);
  expect(volRecord(d.root, 'x', 'app2')?.state).not.toBe('retained');
  noChanges(d);
});

/** What a user of disk d1 sees after the project is renamed: summarised so that a failure shows all of it. */
const diskAfterRename = (d: Deployment) => {
  const rec = reg(d).storage('disk', 'app2', 'd1');
  return {
    state: rec?.state,
    image: fs.existsSync(imagePath(d.root, 'disk', 'app2', 'd1')),
    lease: reg(d).lease('d1')?.project,
    marker: marker(d.root, 'svc-a', 'app2'),
    oldPlaceMounted: mountedAt(svcPath(d.root, 'svc-a')),
  };
};
const diskKept = { state: 'ready', image: true, lease: 'app2', marker: 'd1', oldPlaceMounted: false };

repeated(
  'the project is renamed with a Disk (retain): the disk (host-wide) stays declared, mounted and not retained',
  () => {
    const d = deployment();
    deployOk(d, { storage: [disk('a', 'd1', 'retain')] });
    mark(d.root, 'svc-a', 'd1');
    const r = d.deploy({ projectName: 'app2', storage: [disk('a', 'd1', 'retain')] });
    const after = diskAfterRename(d);
    expect({ status: r.status, ...after }).toEqual({ status: 0, ...diskKept });
    noChanges(d);
  },
);

repeated('the project is renamed with a Disk (destroy): the disk the code still declares keeps its data', () => {
  const d = deployment();
  deployOk(d, { storage: [disk('a', 'd1', 'destroy')] });
  mark(d.root, 'svc-a', 'd1');
  const r = d.deploy({ projectName: 'app2', storage: [disk('a', 'd1', 'destroy')] });
  const after = diskAfterRename(d);
  const failed = r.status === 0 ? '' : (r.output.match(/hoststore: disk d1: [^\n]*/)?.[0] ?? 'failed');
  expect({ status: r.status, failed, ...after }).toEqual({ status: 0, failed: '', ...diskKept });
  noChanges(d);
});

repeated("the project's root changes: the old root is emptied by policy, the new one converged", () => {
  const d = deployment();
  const root2 = otherRoot();
  deployOk(d, { storage: [vol('a', 'x', 'destroy'), vol('b', 'y', 'retain')] });
  mark(d.root, 'svc-a', 'x');
  deployOk(d, { root: root2, storage: [vol('a', 'x', 'destroy'), vol('b', 'y', 'retain')] });
  expect(volRecord(d.root, 'x')).toBeUndefined();
  expect(volRecord(d.root, 'y')?.state).toBe('retained');
  expect(hostMountsUnder(d.root)).toEqual([]);
  expect(hostLoopsUnder(d.root)).toEqual([]);
  expect(mountedAt(svcPath(root2, 'svc-a'))).toBe(true);
  expect(mountedAt(svcPath(root2, 'svc-b'))).toBe(true);
  noChanges(d);
});

// ---------------------------------------------------------------------------------------------------------
// terraform destroy

const everything = (): StepModel => ({
  storage: [
    vol('a', 'x', 'retain', { policy: { id: 'p', schedule: '0 3 * * *' } }),
    vol('b', 'y', 'destroy'),
    vol('c', 'w', 'snapshot'),
    disk('e', 'd1', 'retain'),
  ],
});
function expectAllRetired(d: Deployment, names: { x: string; y: string; w: string; d1: string }) {
  expect(hostMountsUnder(d.root)).toEqual([]);
  expect(hostLoopsUnder(d.root)).toEqual([]);
  expect(volRecord(d.root, names.x)?.state).toBe('retained');
  expect(volRecord(d.root, names.y)).toBeUndefined();
  expect(volRecord(d.root, names.w)).toBeUndefined();
  expect(finalSnapshots(d.root, names.w)).toHaveLength(1);
  expect(reg(d).storage('disk', 'app', names.d1)?.state).toBe('retained');
  expect(reg(d).mounts()).toEqual([]);
  expect(policyRecords(d)).toEqual([]);
  expect(cronFiles()).toEqual([]);
}

repeated('terraform destroy of a deployed stack retires everything by policy', () => {
  const d = deployment();
  deployOk(d, everything());
  const r = d.tf.run(['destroy', '-auto-approve', '-input=false']);
  expect(ok(r)).toEqual({ status: 0, output: '' });
  expectAllRetired(d, { x: 'x', y: 'y', w: 'w', d1: 'd1' });
});

repeated('terraform destroy after the code changed (renames, not deployed) still retires what the state holds', () => {
  const d = deployment();
  deployOk(d, everything());
  // The code now renames every thing (as `cdktf destroy` would synthesize it), but it was never deployed.
  d.write({
    storage: [
      vol('a', 'x2', 'retain', { policy: { id: 'p', schedule: '0 3 * * *' } }),
      vol('b', 'y2', 'destroy'),
      vol('c', 'w2', 'snapshot'),
      disk('e', 'd2', 'retain'),
    ],
  });
  const r = d.tf.run(['destroy', '-auto-approve', '-input=false']);
  expect(ok(r)).toEqual({ status: 0, output: '' });
  expectAllRetired(d, { x: 'x', y: 'y', w: 'w', d1: 'd1' });
});

repeated('terraform destroy after a Mount moved service (not deployed) unmounts the old place', () => {
  const d = deployment();
  const a = vol('a', 'x', 'retain');
  deployOk(d, { storage: [a] });
  d.write({ storage: [{ ...a, mounts: [{ id: 'a-mount', service: 'svc-c', mountPath: '/data' }] }] });
  expect(ok(d.tf.run(['destroy', '-auto-approve', '-input=false']))).toEqual({ status: 0, output: '' });
  expect(hostMountsUnder(d.root)).toEqual([]);
  expect(reg(d).mounts()).toEqual([]);
  expect(volRecord(d.root, 'x')?.state).toBe('retained');
});

// ---------------------------------------------------------------------------------------------------------
// terraform apply -replace=<carrier>

repeated("apply -replace=<a Mount's carrier>: the declared mount is mounted afterwards", () => {
  const d = deployment();
  deployOk(d, { storage: [vol('a', 'x', 'retain')] });
  mark(d.root, 'svc-a', 'x');
  const r = d.tf.run(['apply', '-auto-approve', '-input=false', `-replace=${address(d, 'a-mount_identity')}`]);
  expect(ok(r)).toEqual({ status: 0, output: '' });
  expect(marker(d.root, 'svc-a')).toBe('x');
  expect(reg(d).mounts()).toHaveLength(1);
});

repeated("apply -replace=<a Mount's carrier> in a deploy that also changes something else: still mounted", () => {
  const d = deployment();
  deployOk(d, { storage: [vol('a', 'x', 'retain'), vol('b', 'y', 'retain')] });
  mark(d.root, 'svc-a', 'x');
  // b grows: the manifest is replaced and its converge runs, concurrently with a's replaced mount's delete.
  d.write({
    storage: [vol('a', 'x', 'retain'), { ...vol('b', 'y', 'retain'), props: { sizeGb: 2, name: 'y', shared: true } }],
  });
  const r = d.tf.run(['apply', '-auto-approve', '-input=false', `-replace=${address(d, 'a-mount_identity')}`]);
  expect(ok(r)).toEqual({ status: 0, output: '' });
  expect(marker(d.root, 'svc-a')).toBe('x');
  expect(reg(d).mounts()).toHaveLength(2);
});

repeated("apply -replace=<a volume's carrier> (retain): the declared volume is not left retained", () => {
  const d = deployment();
  deployOk(d, { storage: [vol('a', 'x', 'retain')] });
  mark(d.root, 'svc-a', 'x');
  const r = d.tf.run(['apply', '-auto-approve', '-input=false', `-replace=${address(d, 'app_a_identity')}`]);
  expect(ok(r)).toEqual({ status: 0, output: '' });
  expect(volRecord(d.root, 'x')?.state).not.toBe('retained');
  expect(marker(d.root, 'svc-a')).toBe('x');
});

// ---------------------------------------------------------------------------------------------------------
// After a deploy whose converge was refused, the state holds the new identities and the host the old ones.

repeated('a refused rename deploy, then terraform destroy: the old volume is still retired by its policy', () => {
  const d = deployment();
  const model = (aName: string, bSize: number) => ({
    storage: [vol('a', aName, 'retain'), { ...vol('b', 'y'), props: { sizeGb: bSize, name: 'y', shared: true } }],
  });
  deployOk(d, model('x', 2));
  expect(d.deploy(model('z', 1)).status).not.toBe(0);
  expect(ok(d.tf.run(['destroy', '-auto-approve', '-input=false']))).toEqual({ status: 0, output: '' });
  expect(hostMountsUnder(d.root)).toEqual([]);
  expect(reg(d).mounts()).toEqual([]);
  expect(volRecord(d.root, 'x')?.state).toBe('retained');
  expect(volRecord(d.root, 'y')?.state).toBe('retained');
});

repeated('two Disks swapping names refused: reverting the code deploys cleanly with both disks intact', () => {
  const d = deployment();
  deployOk(d, { storage: [disk('a', 'd1', 'retain'), disk('b', 'd2', 'destroy')] });
  mark(d.root, 'svc-a', 'd1');
  mark(d.root, 'svc-b', 'd2');
  const swap = d.deploy({ storage: [disk('a', 'd2', 'retain'), disk('b', 'd1', 'destroy')] });
  expect(swap.status).not.toBe(0);
  deployOk(d, { storage: [disk('a', 'd1', 'retain'), disk('b', 'd2', 'destroy')] });
  expect([marker(d.root, 'svc-a'), marker(d.root, 'svc-b')]).toEqual(['d1', 'd2']);
  noChanges(d);
});
