/**
 * `terraform apply` of a synthesized stack converges the whole project in ONE hoststore process (the
 * manifest's), each thing's spec change is an update in place of its own resource, and what is refused
 * stops the whole project before anything is touched. The CLI is a wrapper that logs every invocation.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { imagePath, replicaHostPath } from '../../src/schema.js';
import { journalPath } from '../../provider/registry/journal.js';
import { Registry } from '../../provider/registry/store.js';
import { readMountTable } from '../../provider/host/mounts.js';
import { hostTest } from '../helpers/host-fixture.js';
import { terraformAvailable } from '../helpers/cdktf-app.js';
import { hoststore } from '../helpers/cli.js';
import { deployment as makeDeployment, ok } from '../helpers/deployment.js';
import { inputOf } from '../helpers/carrier-input.js';

const haveTerraform = terraformAvailable();
if (!haveTerraform) process.stderr.write('skipping project converge tests: terraform is not on the PATH\n');
const deployTest = haveTerraform ? hostTest() : test.skip;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** A deployment removed after the test, even when it fails. */
function deployment() {
  const d = makeDeployment();
  cleanups.push(() => d.cleanup());
  return d;
}

const volumes = (sizes: Record<string, number>, extra: Record<string, string> = {}) => ({
  storage: Object.entries(sizes).map(([id, sizeGb]) => ({
    id,
    type: 'Volume' as const,
    props: { sizeGb, ...(extra[id] ? { name: extra[id] } : {}) },
    mounts: [{ id: `${id}-mount`, service: `svc-${id}`, mountPath: '/data' }],
  })),
});

const mounted = (root: string, id: string) =>
  readMountTable().some((e) => e.target === replicaHostPath(root, 'app', `svc-${id}`, 1, '/data'));
const dataPath = (root: string, id: string) => replicaHostPath(root, 'app', `svc-${id}`, 1, '/data');
const sizeOf = (root: string, id: string) => {
  const statfs = fs.statfsSync(dataPath(root, id));
  return statfs.blocks * statfs.bsize;
};

deployTest(
  'one hoststore process converges the whole project; a no-op deploy runs none',
  () => {
    const d = deployment();
    // WHEN 3 volumes with their mounts are deployed from nothing
    expect(ok(d.deploy(volumes({ a: 1, b: 1, c: 1 })))).toEqual({ status: 0, output: '' });
    // THEN exactly one hoststore process ran, the project's converge, and everything is mounted
    expect(d.calls()).toEqual(['handle project converge']);
    for (const id of ['a', 'b', 'c']) expect(mounted(d.root, id)).toBe(true);
    // AND a stack of 3 volumes and mounts is 8 resources: one per thing, the manifest and the retirement
    expect(Object.keys(d.app.synthJson('conv').resource.terraform_data)).toHaveLength(8);
    // WHEN the same stack is deployed again THEN Terraform has nothing to do and no process runs
    const again = d.deploy(volumes({ a: 1, b: 1, c: 1 }));
    expect(again.status).toBe(0);
    expect(again.output).toMatch(/No changes/);
    expect(d.calls()).toHaveLength(1);
  },
  600_000,
);

deployTest(
  "a grow is an update in place of the volume's own resource plus a replaced manifest; a rename replaces it, and the converge retains the old",
  () => {
    const d = deployment();
    expect(d.deploy(volumes({ a: 1, b: 1, c: 1 })).status).toBe(0);
    fs.writeFileSync(path.join(dataPath(d.root, 'a'), 'keep.txt'), 'kept');
    // WHEN a's sizeGb is raised THEN the plan updates a's resource in place (input.size_gb) and replaces the manifest
    d.write(volumes({ a: 2, b: 1, c: 1 }));
    const changes = d.tf.plannedChanges();
    expect(changes.filter((c) => c.actions.join() !== 'no-op').map((c) => [c.name, c.actions.join('+')])).toEqual(
      expect.arrayContaining([
        [expect.stringMatching(/^app_a_identity-1_/), 'update'],
        [expect.stringMatching(/^app_manifest_/), 'delete+create'],
      ]),
    );
    expect(changes.filter((c) => c.actions.join() !== 'no-op')).toHaveLength(2);
    const a = changes.find((c) => c.name.startsWith('app_a_identity-1_'))!;
    expect([inputOf(a.before).size_gb, inputOf(a.after).size_gb]).toEqual(['1', '2']);
    // AND applying grows it in place, in one process, keeping its data, and runs no delete
    expect(ok(d.apply())).toEqual({ status: 0, output: '' });
    expect(d.calls()).toEqual(['handle project converge', 'handle project converge']);
    expect(sizeOf(d.root, 'a')).toBeGreaterThan(1.5 * 1024 ** 3);
    expect(fs.readFileSync(path.join(dataPath(d.root, 'a'), 'keep.txt'), 'utf8')).toBe('kept');
    expect(fs.readFileSync(journalPath(d.root), 'utf8')).toMatch(/"event":"grown"/);
    expect(fs.readFileSync(journalPath(d.root), 'utf8')).not.toMatch(/"event":"(deleted|retained)"/);
    // WHEN c is renamed (its identity changes) THEN its resource is replaced: the old one is retained, the new mounted
    fs.writeFileSync(path.join(dataPath(d.root, 'c'), 'old.txt'), 'old');
    expect(ok(d.deploy(volumes({ a: 2, b: 1, c: 1 }, { c: 'c-new' })))).toEqual({ status: 0, output: '' });
    // (no carrier runs anything: the converge retires the old name)
    expect(d.calls().slice(2)).toEqual(['handle project converge']);
    const registry = new Registry(d.root);
    expect(registry.storage('volume', 'app', 'c-1')?.state).toBe('retained');
    expect(fs.existsSync(imagePath(d.root, 'volume', 'app', 'c-1'))).toBe(true);
    expect(mounted(d.root, 'c')).toBe(true);
    expect(fs.existsSync(path.join(dataPath(d.root, 'c'), 'old.txt'))).toBe(false);
  },
  600_000,
);

deployTest(
  'a refused shrink fails the apply with one line and changes nothing in the project; the fixed code converges next',
  () => {
    const d = deployment();
    expect(d.deploy(volumes({ a: 2, b: 1 })).status).toBe(0);
    // WHEN one deploy shrinks a, grows b and adds c
    const refused = d.deploy(volumes({ a: 1, b: 2, c: 1 }));
    // THEN it fails, saying in one line what is refused and that nothing was applied
    expect(refused.status).not.toBe(0);
    expect(refused.output.replace(/\s+/g, ' ')).toMatch(
      /hoststore: project app \(stack conv\): refused, nothing was applied: volume a-1: volume a-1 is 2 GB; shrinking it to 1 GB/,
    );
    expect(refused.output).not.toMatch(/\n\s+at /);
    // AND nothing else in the project changed: b is not grown, c not created
    expect(new Registry(d.root).storage('volume', 'app', 'b-1')?.sizeGb).toBe(1);
    expect(fs.existsSync(imagePath(d.root, 'volume', 'app', 'c-1'))).toBe(false);
    expect(mounted(d.root, 'a')).toBe(true);
    // AND a's history has the refusal, by Terraform, with the reason it gave; b's has no grow
    const events = fs
      .readFileSync(journalPath(d.root), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { event: string; storage: string; actor: string; reason?: string });
    expect(events.filter((e) => e.event === 'refused')).toEqual([
      expect.objectContaining({
        storage: 'a-1',
        actor: 'terraform',
        reason: expect.stringMatching(/^volume a-1: refused: volume a-1 is 2 GB; shrinking it to 1 GB/),
      }),
    ]);
    expect(events.filter((e) => e.storage === 'b-1').map((e) => e.event)).toEqual(['created', 'mounted']);
    // WHEN the code keeps a's size THEN the next apply (the manifest is still to be created) converges the rest
    expect(ok(d.deploy(volumes({ a: 2, b: 2, c: 1 })))).toEqual({ status: 0, output: '' });
    expect(new Registry(d.root).storage('volume', 'app', 'b-1')?.sizeGb).toBe(2);
    for (const id of ['a', 'b', 'c']) expect(mounted(d.root, id)).toBe(true);
    expect(hoststore(['plan', '--app', path.join(d.app.dir, 'cdktf.out'), '--detailed-exitcode']).status).toBe(0);
  },
  600_000,
);

deployTest(
  'a failed converge is run again by the next apply, which converges',
  () => {
    const d = deployment();
    expect(ok(d.deploy(volumes({ a: 1 })))).toEqual({ status: 0, output: '' });
    // GIVEN the root locked by a live process that is no hoststore, and a new volume b in the code
    const lock = path.join(d.root, 'registry', 'lock');
    fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, holder: 'a test', since: new Date().toISOString() }));
    d.write(volumes({ a: 1, b: 1 }));
    // WHEN applied THEN the converge fails naming the holder
    const blocked = d.apply({ HOSTSTORE_LOCK_TIMEOUT_MS: '500' });
    expect(blocked.status).not.toBe(0);
    expect(blocked.output).toMatch(/locked by a test/);
    fs.rmSync(lock);
    // WHEN the same code is applied again THEN the manifest (tainted) runs again and converges
    expect(ok(d.apply())).toEqual({ status: 0, output: '' });
    expect(mounted(d.root, 'b')).toBe(true);
    expect(d.apply().output).toMatch(/No changes/);
  },
  600_000,
);
