/**
 * `hoststore handle <kind> delete` of a replaced carrier: HOSTSTORE_DECLARED is the identity its construct
 * declares in the current code. Another identity in the same root and project: the delete does nothing
 * (the project's converge keeps or retires the old thing). The same identity, or another root or project:
 * the delete acts, by the removal policy.
 */
import * as fs from 'node:fs';
import { Registry } from '../../provider/registry/store.js';
import { storagePath } from '../../provider/handlers/storage.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { storageWire } from '../helpers/specs.js';
import { hoststore } from '../helpers/cli.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => {
  host.cleanup();
});

/** A disk `data` with removalPolicy 'destroy', made by stack test. */
function makeDisk() {
  const spec = storageWire(host.root, { removal_policy: 'destroy' });
  expect(hoststore(['handle', 'storage', 'converge'], spec)).toMatchObject({ status: 0 });
  const identity = { kind: spec.kind, root: spec.root, project: spec.project, name: spec.name };
  return { identity, image: storagePath(identity) };
}

const remove = (identity: object, declared?: string) =>
  hoststore(['handle', 'storage', 'delete'], identity, {
    HOSTSTORE_STACK: 'test',
    ...(declared === undefined ? {} : { HOSTSTORE_DECLARED: declared }),
  });

hostTest()('a delete whose construct declares another identity in the project does nothing', () => {
  const { identity, image } = makeDisk();
  // WHEN the construct now declares disk `data2` (a rename, or a swap with another construct)
  const result = remove(identity, JSON.stringify({ ...identity, name: 'data2' }));
  // THEN it says so and leaves the disk, its record and its data as they were
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/^disk data: its construct declares another one now; left to the project's converge/);
  expect(fs.existsSync(image)).toBe(true);
  expect(new Registry(host.root).storage('disk', 'app', 'data')?.state).not.toBe('retained');
});

hostTest()('a delete whose construct declares the same identity, or one in another project, acts', () => {
  const { identity, image } = makeDisk();
  // WHEN the construct declares it in another project THEN no converge of this one will run: it is deleted
  expect(remove(identity, JSON.stringify({ ...identity, project: 'other' }))).toMatchObject({ status: 0 });
  expect(fs.existsSync(image)).toBe(false);
  expect(new Registry(host.root).storage('disk', 'app', 'data')).toBeUndefined();
  // AND `terraform destroy` (the code declares what the state holds) deletes too
  const again = makeDisk();
  expect(remove(again.identity, JSON.stringify(again.identity))).toMatchObject({ status: 0 });
  expect(fs.existsSync(again.image)).toBe(false);
});

hostTest()('a HOSTSTORE_DECLARED that is not an identity is refused in one line, and nothing is deleted', () => {
  const { identity, image } = makeDisk();
  for (const declared of ['{', JSON.stringify({ ...identity, name: '../x' })]) {
    const result = remove(identity, declared);
    expect(result.status).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^hoststore: HOSTSTORE_DECLARED/);
    expect(fs.existsSync(image)).toBe(true);
  }
});
