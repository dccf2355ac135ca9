/**
 * A carrier whose identity changed is replaced by Terraform: its destroy-time delete runs with the old
 * identity. When the code still declares that thing under another construct (two volumes that swap names,
 * two Mounts that swap paths), the delete must leave it alone: nothing the code declares is deleted,
 * retained or unmounted by a deploy. What nothing declares any more is retired by the project's converge.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { replicaHostPath } from '../../src/schema.js';
import { Registry } from '../../provider/registry/store.js';
import { readMountTable } from '../../provider/host/mounts.js';
import { hostTest } from '../helpers/host-fixture.js';
import { terraformAvailable } from '../helpers/cdktf-app.js';
import { deployment as makeDeployment, ok } from '../helpers/deployment.js';

const haveTerraform = terraformAvailable();
if (!haveTerraform) process.stderr.write('skipping replaced-carrier tests: terraform is not on the PATH\n');
const deployTest = haveTerraform ? hostTest() : test.skip;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function deployment() {
  const d = makeDeployment('swap');
  cleanups.push(() => d.cleanup());
  return d;
}

const servicePath = (root: string, service: string, mountPath = '/data') =>
  replicaHostPath(root, 'app', service, 1, mountPath);
const mountedAt = (target: string) => readMountTable().some((e) => e.target === target);

/** Volume a named `aName` (removal policy retain) and b named `bName` (destroy), each mounted by its own service. */
const twoVolumes = (aName: string, bName: string) => ({
  storage: [
    {
      id: 'a',
      type: 'Volume' as const,
      props: { sizeGb: 1, name: aName },
      mounts: [{ id: 'a-mount', service: 'svc-a', mountPath: '/data' }],
    },
    {
      id: 'b',
      type: 'Volume' as const,
      props: { sizeGb: 1, name: bName, removalPolicy: 'destroy' },
      mounts: [{ id: 'b-mount', service: 'svc-b', mountPath: '/data' }],
    },
  ],
});

deployTest(
  'two volumes that swap names keep both their data: the replaced carriers delete nothing the code declares',
  () => {
    const d = deployment();
    expect(ok(d.deploy(twoVolumes('x', 'y')))).toEqual({ status: 0, output: '' });
    fs.writeFileSync(path.join(servicePath(d.root, 'svc-a'), 'marker'), 'x');
    fs.writeFileSync(path.join(servicePath(d.root, 'svc-b'), 'marker'), 'y');
    // WHEN a takes b's name and b takes a's
    expect(ok(d.deploy(twoVolumes('y', 'x')))).toEqual({ status: 0, output: '' });
    // THEN both volumes are still there, managed and not retained, with their data
    const registry = new Registry(d.root);
    for (const name of ['x-1', 'y-1']) expect(registry.storage('volume', 'app', name)?.state).not.toBe('retained');
    // AND each service mounts the volume its construct names now: a's service sees y's data, b's sees x's
    expect(fs.readFileSync(path.join(servicePath(d.root, 'svc-a'), 'marker'), 'utf8')).toBe('y');
    expect(fs.readFileSync(path.join(servicePath(d.root, 'svc-b'), 'marker'), 'utf8')).toBe('x');
    // AND each now has the removal policy of the construct that declares it
    expect(registry.storage('volume', 'app', 'y-1')?.removalPolicy).toBe('retain');
    expect(registry.storage('volume', 'app', 'x-1')?.removalPolicy).toBe('destroy');
    // AND the next plan has nothing to do
    expect(d.apply().output).toMatch(/No changes/);
  },
  600_000,
);

/** One shared volume mounted by one service at two paths, by Mounts m1 and m2. */
const twoMounts = (m1: string, m2: string) => ({
  storage: [
    {
      id: 'v',
      type: 'Volume' as const,
      props: { sizeGb: 1, shared: true },
      mounts: [
        { id: 'm1', service: 'svc', mountPath: m1 },
        { id: 'm2', service: 'svc', mountPath: m2 },
      ],
    },
  ],
});

deployTest(
  'two Mounts that swap paths leave both paths mounted',
  () => {
    const d = deployment();
    expect(ok(d.deploy(twoMounts('/a', '/b')))).toEqual({ status: 0, output: '' });
    fs.writeFileSync(path.join(servicePath(d.root, 'svc', '/a'), 'marker'), 'v');
    // WHEN the two Mounts swap their paths
    expect(ok(d.deploy(twoMounts('/b', '/a')))).toEqual({ status: 0, output: '' });
    // THEN both paths are mounted, with the volume's data
    for (const p of ['/a', '/b']) {
      expect(mountedAt(servicePath(d.root, 'svc', p))).toBe(true);
      expect(fs.readFileSync(path.join(servicePath(d.root, 'svc', p), 'marker'), 'utf8')).toBe('v');
    }
    expect(d.apply().output).toMatch(/No changes/);
  },
  600_000,
);
