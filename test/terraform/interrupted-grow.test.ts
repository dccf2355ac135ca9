/**
 * A grow under real Terraform whose `terraform apply` is killed with SIGKILL during the manifest's
 * converge: the next deploy finishes it or fails loudly, never "No changes" over half-grown storage.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { replicaHostPath } from '../../src/schema.js';
import { growMarkerPath } from '../../src/interrupted-grow.js';
import { lockPath } from '../../provider/registry/lock.js';
import { Registry } from '../../provider/registry/store.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { CdktfApp, terraformAvailable, type AppModel } from '../helpers/cdktf-app.js';
import { hoststore } from '../helpers/cli.js';

const haveTerraform = terraformAvailable();
if (!haveTerraform) process.stderr.write('skipping interrupted-grow tests: terraform is not on the PATH\n');
const deployTest = haveTerraform ? hostTest('mkfs.xfs') : test.skip;

const GiB = 1024 ** 3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Deployment {
  readonly host: HostFixture;
  readonly app: CdktfApp;
  readonly stackDir: string;
  readonly dataPath: string;
  readonly env: NodeJS.ProcessEnv;
}

const cleanups: Array<() => void> = [];
const frozen = new Set<string>();
afterEach(() => {
  // A filesystem the test froze is thawed first, even when the test failed (else unmounting it blocks).
  for (const target of frozen) spawnSync('fsfreeze', ['--unfreeze', target]);
  frozen.clear();
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function model(root: string, sizeGb: number): AppModel {
  return {
    stack: 'grow',
    root,
    storage: [
      {
        id: 'pg',
        type: 'Disk',
        props: { name: 'pg', sizeGb, filesystem: 'xfs' },
        mounts: [{ id: 'pg-mount', service: 'db', mountPath: '/data' }],
      },
    ],
  };
}

function terraform(d: Deployment, ...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('terraform', args, { cwd: d.stackDir, env: d.env, encoding: 'utf8', timeout: 300_000 });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

/** A stack with one xfs Disk of 1 GB, mounted and holding a file, deployed with terraform itself. */
function deploy(): Deployment {
  const host = makeHostFixture();
  const app = new CdktfApp();
  cleanups.push(
    () => host.cleanup(),
    () => app.cleanup(),
  );
  const cliConfig = path.join(app.dir, 'empty.tfrc');
  fs.writeFileSync(cliConfig, '');
  const env = {
    ...process.env,
    TF_CLI_CONFIG_FILE: cliConfig,
    TF_IN_AUTOMATION: '1',
    CHECKPOINT_DISABLE: '1',
    NO_COLOR: '1',
  };
  const d: Deployment = {
    host,
    app,
    stackDir: path.join(app.dir, 'cdktf.out', 'stacks', 'grow'),
    dataPath: replicaHostPath(host.root, 'app', 'db', 1, '/data'),
    env,
  };
  app.write(model(host.root, 1));
  app.cdktf('synth');
  const init = terraform(d, 'init', '-input=false');
  expect({ status: init.status, output: init.status === 0 ? '' : init.output }).toEqual({ status: 0, output: '' });
  expect(terraform(d, 'apply', '-auto-approve', '-input=false')).toMatchObject({ status: 0 });
  fs.writeFileSync(path.join(d.dataPath, 'PG_VERSION'), '16');
  return d;
}

/**
 * Starts `terraform apply` of sizeGb 2 (in its own process group) and SIGKILLs terraform alone, or the
 * whole group (terraform, its shell and the handler), while the manifest's converge grows the disk and
 * after Terraform has saved the disk's new input (updated in place) in its state file, as a long apply does.
 *
 * Two real things make that moment last: the disk's xfs is frozen (fsfreeze), so the grow blocks in
 * xfs_growfs until the test thaws it; and an unrelated resource whose provisioner sleeps 21 s writes the
 * state at its end, which is when Terraform's local backend persists an apply's state (an update at
 * least 20 s after the first), including the disk's new input while the manifest's provisioner still runs.
 */
async function applyGrowAndKill(d: Deployment, target: 'terraform' | 'group'): Promise<void> {
  d.app.write(model(d.host.root, 2));
  d.app.cdktf('synth');
  const file = path.join(d.stackDir, 'cdk.tf.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  json.resource.terraform_data.test_tick = {
    triggers_replace: '${timestamp()}',
    provisioner: [{ 'local-exec': { command: 'sleep 21' } }],
  };
  fs.writeFileSync(file, JSON.stringify(json));
  const statePath: string = json.terraform?.backend?.local?.path ?? path.join(d.stackDir, 'terraform.tfstate');
  const newConfigSaved = () => {
    let state: { resources: any[] };
    try {
      state = JSON.parse(fs.readFileSync(statePath, 'utf8'));
    } catch {
      return false; // not written yet, or caught mid-write
    }
    return state.resources.some(
      (r: any) =>
        r.type === 'terraform_data' &&
        r.name.includes('pg_identity') &&
        r.instances.some((i: any) => specOf(i.attributes?.input?.value)?.size_gb === '2'),
    );
  };
  execFileSync('fsfreeze', ['--freeze', d.dataPath]);
  frozen.add(d.dataPath);
  const child = spawn('terraform', ['apply', '-auto-approve', '-input=false'], {
    cwd: d.stackDir,
    env: d.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const done = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const deadline = Date.now() + 120_000;
  while (
    !(fs.existsSync(growMarkerPath(d.host.root, 'disk', 'app', 'pg')) || registryGrowing(d)) ||
    !newConfigSaved()
  ) {
    if (Date.now() > deadline) throw new Error(`the grow never started with the new input saved:\n${output}`);
    await sleep(50);
  }
  process.kill(target === 'group' ? -(child.pid as number) : (child.pid as number), 'SIGKILL');
  await done;
  execFileSync('fsfreeze', ['--unfreeze', d.dataPath]);
  frozen.delete(d.dataPath);
  // Later applies run the stack as synthesized, without the ticking resource.
  d.app.cdktf('synth');
}

/** A carrier's `input` as the state holds it: the spec as one JSON string. */
const specOf = (input: unknown): Record<string, string> | undefined =>
  typeof input === 'string' ? JSON.parse(input) : undefined;

const registryGrowing = (d: Deployment) =>
  fs.readFileSync(path.join(d.host.root, 'registry', 'storage.json'), 'utf8').includes('"growingToGb"');

/** Waits until no process holds the root's lock (a handler outliving terraform finishes its work). */
async function lockReleased(root: string): Promise<void> {
  for (let i = 0; i < 600 && fs.existsSync(lockPath(root)); i += 1) await sleep(100);
}

function grown(d: Deployment): boolean {
  const record = new Registry(d.host.root).storage('disk', 'app', 'pg');
  const statfs = fs.statfsSync(d.dataPath);
  return record?.growingToGb === undefined && record?.sizeGb === 2 && statfs.blocks * statfs.bsize > 1.5 * GiB;
}

deployTest(
  'terraform killed during the grow provisioner: the handler finishes the grow, the next apply reports the truth',
  async () => {
    const d = deploy();
    // WHEN terraform alone is killed while its provisioner grows the disk
    await applyGrowAndKill(d, 'terraform');
    await lockReleased(d.host.root);
    // THEN the next apply either finds the grow finished, or fails saying what to do; never success over a half-grown disk
    const next = terraform(d, 'apply', '-auto-approve', '-input=false');
    if (next.status === 0)
      expect({ grown: grown(d), output: next.output }).toEqual({ grown: true, output: next.output });
    else expect(next.output).toMatch(/grow was interrupted.*hoststore up/s);
    expect(fs.readFileSync(path.join(d.dataPath, 'PG_VERSION'), 'utf8')).toBe('16');
  },
  600_000,
);

deployTest(
  'terraform and the handler killed mid-grow: the next plan fails loudly, hoststore up finishes the grow, then apply says no changes',
  async () => {
    const d = deploy();
    await applyGrowAndKill(d, 'group');
    const marker = growMarkerPath(d.host.root, 'disk', 'app', 'pg');
    // THEN the next plan and apply fail, saying that a grow was interrupted and how to finish it
    const plan = terraform(d, 'plan', '-input=false');
    expect({ status: plan.status, grown: grown(d) }).toEqual({ status: 1, grown: false });
    expect(plan.output).toMatch(/disk pg: a grow was interrupted/);
    expect(plan.output).toMatch(/hoststore up --root/);
    expect(terraform(d, 'apply', '-auto-approve', '-input=false').status).not.toBe(0);
    // WHEN hoststore up runs THEN the grow is finished, the marker gone, and apply has nothing left to do
    expect(hoststore(['up', '--root', d.host.root])).toMatchObject({ status: 0 });
    expect(fs.existsSync(marker)).toBe(false);
    expect(grown(d)).toBe(true);
    const apply = terraform(d, 'apply', '-auto-approve', '-input=false');
    expect(apply.status).toBe(0);
    expect(grown(d)).toBe(true);
    expect(fs.readFileSync(path.join(d.dataPath, 'PG_VERSION'), 'utf8')).toBe('16');
  },
  600_000,
);
