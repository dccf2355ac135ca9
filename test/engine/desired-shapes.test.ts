/**
 * `hoststore plan | apply | diff` read a synth output's desired state from the manifest's HOSTSTORE_SPEC_<n>
 * entries, each resolved against the resource it names; a synth output of 0.1 (a config carrier per thing)
 * reads as the same desired state, so `hoststore diff --base` across the upgrade shows no change.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, TerraformStack } from 'cdktf';
import { Disk, Mount, SnapshotPolicy, StorageProject, Volume } from '../../src/index.js';
import { readDesired } from '../../provider/plan/desired.js';
import { SpecError } from '../../provider/errors.js';
import { hoststore } from '../helpers/cli.js';

const FIXTURE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../terraform/fixtures/upgrade-from-v0.1.tf.json',
);
const ROOT = '/srv/hoststore-fixture-root';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-desired-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The fixture's stack as this build synthesizes it (`carrier` chosen). */
function synthNow(outdir: string, carrier?: 'null_resource'): string {
  const app = new App({ outdir });
  const stack = new TerraformStack(app, 'upgrade');
  const project = new StorageProject(stack, 'app', { root: ROOT, cli: '/opt/hoststore-fixture/cli.js', carrier });
  const pg = new Disk(project, 'pg', { name: 'pg', sizeGb: 1 });
  new Mount(project, 'pg-mount', { storage: pg, service: 'db', mountPath: '/data' });
  const models = new Volume(project, 'models', { sizeGb: 1, shared: true });
  new Mount(project, 'models-mount', { storage: models, service: 'inference', mountPath: '/models', replicas: 2 });
  new SnapshotPolicy(project, 'nightly', { storage: models, schedule: '0 4 * * *', retentionDays: 7 });
  app.synth();
  return outdir;
}

/** The v0.1 synth output of the same stack (the committed fixture, with a synth manifest). */
function synthOld(outdir: string): string {
  fs.mkdirSync(path.join(outdir, 'stacks', 'upgrade'), { recursive: true });
  fs.copyFileSync(FIXTURE, path.join(outdir, 'stacks', 'upgrade', 'cdk.tf.json'));
  fs.writeFileSync(
    path.join(outdir, 'manifest.json'),
    JSON.stringify({ stacks: { upgrade: { name: 'upgrade', synthesizedStackPath: 'stacks/upgrade/cdk.tf.json' } } }),
  );
  return outdir;
}

test('the manifest entries give every thing with its construct path; the 0.1 shape reads the same', () => {
  const now = readDesired(synthNow(path.join(dir, 'now')));
  expect(now.map((d) => [d.kind, d.address, d.spec.name ?? d.spec.storage])).toEqual([
    ['storage', 'upgrade/app/models', 'models'],
    ['storage', 'upgrade/app/pg', 'pg'],
    ['mount', 'upgrade/app/models-mount', 'models'],
    ['mount', 'upgrade/app/models-mount', 'models'],
    ['mount', 'upgrade/app/pg-mount', 'pg'],
    ['snapshot-policy', 'upgrade/app/nightly', 'models'],
    ['project', 'upgrade/app', 'disk:pg,volume:models'],
  ]);
  expect(now.find((d) => d.kind === 'storage' && d.spec.name === 'pg')?.spec).toMatchObject({
    size_gb: '1',
    kind: 'disk',
  });
  // The digest is Terraform's to compute; the manifest's spec is its lists
  expect(now.find((d) => d.kind === 'project')?.spec).not.toHaveProperty('specs');
  expect(readDesired(synthOld(path.join(dir, 'old')))).toEqual(now);
  expect(readDesired(synthNow(path.join(dir, 'null'), 'null_resource'))).toEqual(now);
});

test('hoststore diff from a 0.1 synth output to this build of the same stack shows no change', () => {
  const result = hoststore([
    'diff',
    '--base',
    synthOld(path.join(dir, 'old')),
    '--app',
    synthNow(path.join(dir, 'now')),
    '--detailed-exitcode',
  ]);
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
});

/** Hand-edits the manifest carrier of the synth output `out`, as someone editing cdk.tf.json would. */
function editManifest(out: string, edit: (manifest: any) => void): void {
  const file = path.join(out, 'stacks', 'upgrade', 'cdk.tf.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(Object.entries(json.resource.terraform_data).find(([id]) => id.startsWith('app_manifest_'))![1]);
  fs.writeFileSync(file, JSON.stringify(json));
}

test('an entry that refers to a resource the stack does not hold is refused, naming it', () => {
  const out = synthNow(path.join(dir, 'now'));
  editManifest(out, (manifest) => {
    manifest.provisioner[0]['local-exec'].environment.HOSTSTORE_SPEC_2 =
      '{"address":"upgrade/app/pg","kind":"storage","spec":${jsonencode(terraform_data.app_gone_identity_00000000.input)}}';
  });
  expect(() => readDesired(out)).toThrow(SpecError);
  expect(() => readDesired(out)).toThrow(
    /^HOSTSTORE_SPEC_2 of upgrade\/app in stack upgrade refers to terraform_data\.app_gone_identity_00000000\.input, which the stack does not hold as a spec/,
  );
});

test("a manifest whose lists leave out a thing its entries converge is refused, as the manifest's converge refuses it", () => {
  const out = synthNow(path.join(dir, 'now'));
  editManifest(out, (manifest) => {
    // Hand-edited: disk pg no longer listed, so the same apply would create (or keep) it and then retire it
    manifest.triggers_replace.storage = 'volume:models';
  });
  expect(() => readDesired(out)).toThrow(
    /^the manifest of upgrade\/app in stack upgrade lists storage "volume:models" but its HOSTSTORE_SPEC_<n> entries hold "disk:pg,volume:models"; run cdktf synth again$/,
  );
});
