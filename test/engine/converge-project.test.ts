/**
 * `hoststore handle project converge` as the manifest's provisioner runs it: the manifest in
 * HOSTSTORE_SPEC, each thing in HOSTSTORE_SPEC_<n>. A planted or hand-edited entry is refused before
 * anything is touched; a valid project converges in this one process.
 */
import * as fs from 'node:fs';
import { imagePath, replicaHostPath } from '../../src/schema.js';
import { readMountTable } from '../../provider/host/mounts.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { hoststore } from '../helpers/cli.js';
import { mountWire, storageWire } from '../helpers/specs.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => host.cleanup());

const DIGEST = '0'.repeat(64);

function manifest(root: string, overrides: Record<string, string> = {}) {
  return {
    root,
    project: 'app',
    stack: 'test',
    storage: 'disk:data',
    mounts: 'web/1:/data',
    policies: '',
    specs: DIGEST,
    ...overrides,
  };
}

const entry = (address: string, kind: string, spec: unknown) => JSON.stringify({ address, kind, spec });

function converge(manifestSpec: unknown, things: Record<string, string>) {
  return hoststore(['handle', 'project', 'converge'], manifestSpec, things);
}

hostTest()('the whole project converges in one process', () => {
  const result = converge(manifest(host.root), {
    HOSTSTORE_SPEC_1: entry('test/app/data', 'storage', storageWire(host.root)),
    HOSTSTORE_SPEC_2: entry('test/app/data-mount', 'mount', mountWire(host.root)),
  });
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  expect(result.stdout).toMatch(/create disk data/);
  expect(readMountTable().some((e) => e.target === replicaHostPath(host.root, 'app', 'web', 1, '/data'))).toBe(true);
  // A second run finds nothing to do
  const again = converge(manifest(host.root), {
    HOSTSTORE_SPEC_1: entry('test/app/data', 'storage', storageWire(host.root)),
    HOSTSTORE_SPEC_2: entry('test/app/data-mount', 'mount', mountWire(host.root)),
  });
  expect(again.stdout).toMatch(/nothing to change \(2 converged\)/);
});

describe('a planted or hand-edited HOSTSTORE_SPEC_<n> is refused, nothing touched', () => {
  const cases: Array<[string, (root: string) => Record<string, string>, RegExp]> = [
    [
      'naming another project',
      (root) => ({
        HOSTSTORE_SPEC_1: entry('test/app/data', 'storage', storageWire(root)),
        HOSTSTORE_SPEC_2: entry('test/app/data-mount', 'mount', mountWire(root, { project: 'other' })),
      }),
      /^hoststore: HOSTSTORE_SPEC_2 \(test\/app\/data-mount\): refused: its project is "other", but this manifest converges project "app"/,
    ],
    [
      'naming another root',
      () => ({
        HOSTSTORE_SPEC_1: entry('test/app/data', 'storage', storageWire('/srv/elsewhere')),
        HOSTSTORE_SPEC_2: entry('test/app/data-mount', 'mount', mountWire('/srv/elsewhere')),
      }),
      /^hoststore: HOSTSTORE_SPEC_1 \(test\/app\/data\): refused: its root is "\/srv\/elsewhere", but this manifest converges root/,
    ],
    [
      'naming another stack',
      (root) => ({
        HOSTSTORE_SPEC_1: entry('test/app/data', 'storage', storageWire(root, { stack: 'prod' })),
        HOSTSTORE_SPEC_2: entry('test/app/data-mount', 'mount', mountWire(root)),
      }),
      /^hoststore: HOSTSTORE_SPEC_1 \(test\/app\/data\): refused: its stack is "prod"/,
    ],
    [
      'with a spec its kind rejects',
      (root) => ({
        HOSTSTORE_SPEC_1: entry('test/app/data', 'storage', storageWire(root, { size_gb: '-1' })),
        HOSTSTORE_SPEC_2: entry('test/app/data-mount', 'mount', mountWire(root)),
      }),
      /^hoststore: HOSTSTORE_SPEC_1 \(test\/app\/data\): storage spec rejected: size_gb: must be a whole number/,
    ],
    [
      'that is not JSON',
      () => ({ HOSTSTORE_SPEC_1: '{"address":', HOSTSTORE_SPEC_2: '{}' }),
      /^hoststore: HOSTSTORE_SPEC_1 is not JSON/,
    ],
    [
      'of an unknown kind',
      (root) => ({
        HOSTSTORE_SPEC_1: entry('test/app/data', 'project', manifest(root)),
        HOSTSTORE_SPEC_2: entry('test/app/data-mount', 'mount', mountWire(root)),
      }),
      /^hoststore: HOSTSTORE_SPEC_1 has "kind" "project", not one of storage, mount, snapshot-policy/,
    ],
    [
      'left out (the manifest lists what it converges)',
      (root) => ({ HOSTSTORE_SPEC_1: entry('test/app/data', 'storage', storageWire(root)) }),
      /^hoststore: HOSTSTORE_SPEC_2 is missing: the manifest lists more things than it has entries/,
    ],
  ];
  test.each(cases)('%s', (_name, things, message) => {
    const result = converge(manifest(host.root), things(host.root));
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(imagePath(host.root, 'disk', 'app', 'data'))).toBe(false);
    expect(fs.readdirSync(host.root)).toEqual([]);
  });
});

describe('the whole project is judged as the per-resource handlers judge each thing', () => {
  const only = (root: string, names: string[], policy = 'retain') => ({
    things: Object.fromEntries(
      names.map((name, i) => [
        `HOSTSTORE_SPEC_${i + 1}`,
        entry(`test/app/${name}`, 'storage', storageWire(root, { name, removal_policy: policy as 'retain' })),
      ]),
    ),
    manifest: manifest(root, { storage: names.map((n) => `disk:${n}`).join(','), mounts: '' }),
  });

  hostTest()('data-loss the code did not declare (an image deleted by hand) refuses, and nothing is applied', () => {
    const first = only(host.root, ['data']);
    expect(converge(first.manifest, first.things).status).toBe(0);
    fs.rmSync(imagePath(host.root, 'disk', 'app', 'data'));
    // WHEN the project converges with another disk added
    const next = only(host.root, ['data', 'more']);
    const result = converge(next.manifest, next.things);
    // THEN it refuses in one line, and the new disk is not made either
    expect(result.status).toBe(3);
    expect(result.stderr).toMatch(/^hoststore: project app \(stack test\): refused, nothing was applied: disk data: /);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(imagePath(host.root, 'disk', 'app', 'more'))).toBe(false);
  });

  hostTest()("data-loss the code declares (removalPolicy 'destroy', removed from the code) goes ahead", () => {
    const first = only(host.root, ['keep', 'gone'], 'destroy');
    expect(converge(first.manifest, first.things).status).toBe(0);
    const next = only(host.root, ['keep'], 'destroy');
    const result = converge(next.manifest, next.things);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    expect(fs.existsSync(imagePath(host.root, 'disk', 'app', 'gone'))).toBe(false);
    expect(fs.existsSync(imagePath(host.root, 'disk', 'app', 'keep'))).toBe(true);
  });

  hostTest()(
    "a mount moved to new storage while its old storage (removalPolicy 'destroy') is removed: moved, then the old one deleted, as the per-resource carriers did",
    () => {
      const old = (name: string, policy: string) =>
        entry(`test/app/${name}`, 'storage', storageWire(host.root, { name, removal_policy: policy as 'retain' }));
      const first = converge(manifest(host.root, { storage: 'disk:old' }), {
        HOSTSTORE_SPEC_1: old('old', 'destroy'),
        HOSTSTORE_SPEC_2: entry('test/app/data-mount', 'mount', mountWire(host.root, { storage: 'old' })),
      });
      expect(first.status).toBe(0);
      // WHEN the code points the same mount at a new disk and drops the old one
      const result = converge(manifest(host.root, { storage: 'disk:new' }), {
        HOSTSTORE_SPEC_1: old('new', 'retain'),
        HOSTSTORE_SPEC_2: entry('test/app/data-mount', 'mount', mountWire(host.root, { storage: 'new' })),
      });
      // THEN the mount moves first, so the old disk is no longer mounted when its policy deletes it
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
      expect(fs.existsSync(imagePath(host.root, 'disk', 'app', 'old'))).toBe(false);
      expect(fs.existsSync(imagePath(host.root, 'disk', 'app', 'new'))).toBe(true);
    },
  );
});

hostTest()(
  'a stray HOSTSTORE_SPEC_<n> in the deploying shell beyond the entries the manifest lists is not read',
  () => {
    // Terraform passes its own environment on to local-exec: a variable left in the shell must not break (or join) the converge.
    const result = converge(manifest(host.root), {
      HOSTSTORE_SPEC_1: entry('test/app/data', 'storage', storageWire(host.root)),
      HOSTSTORE_SPEC_2: entry('test/app/data-mount', 'mount', mountWire(host.root)),
      HOSTSTORE_SPEC_3: '{}',
    });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    expect(result.stdout).toMatch(/create disk data/);
  },
);

hostTest()('a manifest of an earlier build (no specs digest) reads no entries, only retires', () => {
  const { specs: _specs, ...old } = manifest(host.root, { storage: '', mounts: '' });
  const result = converge(old, { HOSTSTORE_SPEC_1: entry('test/app/data', 'storage', storageWire(host.root)) });
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  expect(fs.existsSync(imagePath(host.root, 'disk', 'app', 'data'))).toBe(false);
});
