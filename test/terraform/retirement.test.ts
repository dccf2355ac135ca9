/**
 * The project's retirement (real cdktf synth and terraform), beyond the refactor and destroy tests: a taint
 * of it, a targeted destroy, a renamed project's Disk (retained by the old project's retirement, adopted by
 * the new one, then retired by its policy), two stacks sharing a project, an owner destroyed while another
 * stack mounts its volume. REVIEW_ONLY=<regex> picks tests.
 */
import * as fs from 'node:fs';
import { Registry, type StorageRecord } from '../../provider/registry/store.js';
import { hostMountsUnder, hostTest } from '../helpers/host-fixture.js';
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
const deployTest = haveTerraform ? hostTest() : test.skip;
const ONLY = process.env.REVIEW_ONLY ? new RegExp(process.env.REVIEW_ONLY) : undefined;
const t = (name: string, fn: () => void) => (ONLY && !ONLY.test(name) ? test.skip : deployTest)(name, fn, 600_000);

const suite = deploySuite('hoststore-retirement');
const deployment = (stack?: string) => suite.deployment(stack);

const reg = (root: string) => new Registry(root);
/** Every storage record of this name (any project), summarised. */
const records = (root: string, name: string) =>
  reg(root)
    .list<StorageRecord>('storage')
    .map((e) => e.record)
    .filter((r) => r.name === name)
    .map((r) => ({
      kind: r.kind,
      project: r.project,
      stack: r.stack,
      state: r.state,
      policy: r.removalPolicy,
      image: fs.existsSync(r.path),
    }));
const destroy = (d: Deployment) => d.tf.run(['destroy', '-auto-approve', '-input=false']);
/** What a service of the stack sees: mounted, and the marker in it. */
const seen = (root: string, svc: string, project = 'app') => ({
  mounted: mountedAt(svcPath(root, svc, '/data', 1, project)),
  marker: marker(root, svc, project),
});
const hoststoreLines = (output: string) => (output.match(/hoststore: [^\n]*/g) ?? []).join('\n');

// ---------------------------------------------------------------------------------------------------------
// The retirement carrier itself, replaced or tainted while the code is unchanged.

const base = (): StepModel => ({
  storage: [vol('a', 'x', 'destroy'), vol('b', 'y', 'retain'), disk('c', 'd1', 'destroy')],
});
const markAll = (d: Deployment) => {
  mark(d.root, 'svc-a', 'x');
  mark(d.root, 'svc-b', 'y');
  mark(d.root, 'svc-c', 'd1');
};
const allSeen = (d: Deployment) => ({
  a: seen(d.root, 'svc-a'),
  b: seen(d.root, 'svc-b'),
  c: seen(d.root, 'svc-c'),
  y: records(d.root, 'y').map((r) => r.state),
});
const allKept = {
  a: { mounted: true, marker: 'x' },
  b: { mounted: true, marker: 'y' },
  c: { mounted: true, marker: 'd1' },
  y: ['ready'],
};

t('terraform taint <retirement carrier>, then apply: everything declared is kept', () => {
  const d = deployment();
  deployOk(d, base());
  markAll(d);
  expect(d.tf.run(['taint', address(d, 'app_retirement')]).status).toBe(0);
  const r = d.apply();
  expect({ status: r.status, ...allSeen(d) }).toEqual({ status: 0, ...allKept });
});

t('terraform destroy -target=<a volume carrier>, then apply: the volume is declared again and mounted', () => {
  const d = deployment();
  deployOk(d, base());
  markAll(d);
  const r = d.tf.run(['destroy', '-auto-approve', '-input=false', `-target=${address(d, 'app_a_identity')}`]);
  const afterTargeted = { status: r.status, ...allSeen(d), log: hoststoreLines(r.output) };
  // Nothing has a provisioner but the retirement: the targeted destroy changes nothing on the host.
  expect(afterTargeted).toEqual({ status: 0, ...allKept, log: '' });
  const again = d.apply();
  expect({ status: again.status, ...allSeen(d) }).toEqual({ status: 0, ...allKept });
  expect(d.apply().output).toMatch(/No changes/);
});

// ---------------------------------------------------------------------------------------------------------
// A project renamed with a Disk, then destroyed: the disk is retired by its policy, not orphaned.

for (const policy of ['destroy', 'retain'] as const) {
  t(`project renamed with a Disk (${policy}), then terraform destroy: the disk is retired by its policy`, () => {
    const d = deployment();
    deployOk(d, { storage: [disk('a', 'd1', policy)] });
    mark(d.root, 'svc-a', 'd1');
    const renamed = d.deploy({ projectName: 'app2', storage: [disk('a', 'd1', policy)] });
    const afterRename = { status: renamed.status, ...seen(d.root, 'svc-a', 'app2'), records: records(d.root, 'd1') };
    expect(afterRename).toEqual({
      status: 0,
      mounted: true,
      marker: 'd1',
      records: [expect.objectContaining({ state: 'ready', image: true })],
    });
    const r = destroy(d);
    expect(ok(r)).toEqual({ status: 0, output: '' });
    const after = {
      records: records(d.root, 'd1'),
      lease: reg(d.root).lease('d1'),
      mounts: reg(d.root).mounts(),
      log: hoststoreLines(r.output),
    };
    if (policy === 'destroy')
      expect(after).toEqual({ records: [], lease: undefined, mounts: [], log: expect.anything() });
    else
      expect(after).toEqual({
        records: [expect.objectContaining({ state: 'retained', image: true })],
        lease: undefined,
        mounts: [],
        log: expect.anything(),
      });
  });
}

t('project renamed with a Disk (destroy), then the Disk removed from the code: the disk is deleted', () => {
  const d = deployment();
  deployOk(d, { storage: [disk('a', 'd1', 'destroy'), vol('b', 'y', 'retain')] });
  deployOk(d, { projectName: 'app2', storage: [disk('a', 'd1', 'destroy'), vol('b', 'y', 'retain')] });
  const r = d.deploy({ projectName: 'app2', storage: [vol('b', 'y', 'retain')] });
  expect({ status: r.status, records: records(d.root, 'd1'), lease: reg(d.root).lease('d1') }).toEqual({
    status: 0,
    records: [],
    lease: undefined,
  });
});

// ---------------------------------------------------------------------------------------------------------
// Two StorageProjects in one stack.

t("two stacks share project 'app': one stack's destroy leaves the other's storage and mounts alone", () => {
  const s1 = deployment('s1');
  const s2 = deployment('s2');
  deployOk(s1, { storage: [vol('a', 'x', 'destroy'), disk('c', 'd1', 'destroy')] });
  deployOk(s2, { root: s1.root, storage: [vol('b', 'y', 'destroy'), disk('e', 'd2', 'destroy')] });
  mark(s1.root, 'svc-a', 'x');
  mark(s1.root, 'svc-b', 'y');
  mark(s1.root, 'svc-e', 'd2');
  expect(ok(destroy(s1))).toEqual({ status: 0, output: '' });
  expect({
    x: records(s1.root, 'x'),
    b: seen(s1.root, 'svc-b'),
    e: seen(s1.root, 'svc-e'),
    a: seen(s1.root, 'svc-a'),
  }).toEqual({
    x: [],
    b: { mounted: true, marker: 'y' },
    e: { mounted: true, marker: 'd2' },
    a: { mounted: false, marker: undefined },
  });
  expect(s2.apply().output).toMatch(/No changes/);
  expect(ok(destroy(s2))).toEqual({ status: 0, output: '' });
  expect(hostMountsUnder(s1.root)).toEqual([]);
});

t('destroy of the owner while another stack mounts its volume (destroy): retained with its data, not orphaned', () => {
  const s1 = deployment('s1');
  const s2 = deployment('s2');
  deployOk(s1, { storage: [vol('a', 'x', 'destroy')] });
  // s2 borrows x (same policy), mounting it at its own service
  deployOk(s2, { root: s1.root, storage: [vol('b', 'x', 'destroy')] });
  mark(s1.root, 'svc-a', 'x');
  expect(marker(s1.root, 'svc-b')).toBe('x');
  const r = destroy(s1);
  expect(ok(r)).toEqual({ status: 0, output: '' });
  // the borrower still sees its data
  expect({ b: seen(s1.root, 'svc-b'), a: seen(s1.root, 'svc-a') }).toEqual({
    b: { mounted: true, marker: 'x' },
    a: { mounted: false, marker: undefined },
  });
  // the borrower's redeploy: no error, still mounted
  const again = s2.apply();
  expect({ status: again.status, b: seen(s1.root, 'svc-b') }).toEqual({ status: 0, b: { mounted: true, marker: 'x' } });
  // The borrower destroys too: nothing declares x any more. It must not be left owned by a stack that no
  // longer exists (nobody could ever retire or adopt it): deleted by its policy, or at least retained.
  const r2 = destroy(s2);
  expect(ok(r2)).toEqual({ status: 0, output: '' });
  const left = records(s1.root, 'x');
  expect({ left, log: hoststoreLines(r.output + r2.output) }).toEqual({
    left: expect.arrayContaining([]),
    log: expect.anything(),
  });
  // Retained, with its data: the owner's destroy could not delete it while s2 mounted it, and s2 (whose code
  // did not change) never converged again to adopt it. `hoststore delete x` removes it.
  expect(left).toEqual([expect.objectContaining({ state: 'retained', image: true })]);
});

t('cdktf destroy of a stack whose first deploy was refused touches nothing of the other stack', () => {
  const s1 = deployment('s1');
  const s2 = deployment('s2');
  deployOk(s1, { storage: [vol('a', 'x', 'destroy')] });
  mark(s1.root, 'svc-a', 'x');
  // s2 declares x with another policy (refused: x is s1's) plus its own z
  const refused = s2.deploy({ root: s1.root, storage: [vol('b', 'x', 'retain'), vol('c', 'z', 'destroy')] });
  expect(refused.status).not.toBe(0);
  expect(records(s1.root, 'z')).toEqual([]);
  const r = destroy(s2);
  expect(ok(r)).toEqual({ status: 0, output: '' });
  expect({ a: seen(s1.root, 'svc-a'), x: records(s1.root, 'x').map((x) => x.state) }).toEqual({
    a: { mounted: true, marker: 'x' },
    x: ['ready'],
  });
  expect(s1.apply().output).toMatch(/No changes/);
});
