/**
 * Synth of a project with 1,000 storage resources against the same carriers (identity + config pairs,
 * same provisioners and triggers) built by hand, and against 1,000 bare carriers: what the constructs'
 * validation and rendering cost on top of the Terraform they produce.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, TerraformStack } from 'cdktf';
import { TerraformDataCarrier } from '../helpers/terraform-data-carrier.js';
import { StorageProject, Volume } from '../../src/index.js';
import { median, result, type BenchResult } from './measure.js';

const N = 1000;
const provisioner = (op: string, when?: 'destroy') => ({
  type: 'local-exec' as const,
  command: `"$HOSTSTORE_CLI" handle storage ${op}`,
  environment: { HOSTSTORE_CLI: '/usr/bin/hoststore', HOSTSTORE_SPEC: '${jsonencode(self.triggers_replace)}' },
  ...(when ? { when } : {}),
});

function synthIn(build: (stack: TerraformStack) => void): void {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-bench-synth-'));
  try {
    const app = new App({ outdir });
    build(new TerraformStack(app, 'bench'));
    app.synth();
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

function spec(i: number) {
  return {
    kind: 'volume',
    root: '/var/lib/hoststore',
    project: 'bench',
    name: `v${i}`,
    stack: 'bench',
    size_gb: '10',
    filesystem: 'ext4',
    shared: 'true',
    removal_policy: 'retain',
    from_snapshot: '',
  };
}

export async function synthBench(): Promise<BenchResult[]> {
  const constructs = () =>
    synthIn((stack) => {
      const project = new StorageProject(stack, 'bench', { limits: { maxVolumes: N }, cli: '/usr/bin/hoststore' });
      for (let i = 0; i < N; i += 1) new Volume(project, `v${i}`, { sizeGb: 10, shared: true });
    });
  const pairs = () =>
    synthIn((stack) => {
      for (let i = 0; i < N; i += 1) {
        const { kind, root, project, name } = spec(i);
        const identity = new TerraformDataCarrier(stack, `identity${i}`, {
          triggersReplace: { kind, root, project, name },
          provisioners: [provisioner('delete', 'destroy')],
        });
        new TerraformDataCarrier(stack, `config${i}`, {
          triggersReplace: spec(i),
          provisioners: [provisioner('converge')],
          dependsOn: [identity],
        });
      }
    });
  const bare = () =>
    synthIn((stack) => {
      for (let i = 0; i < N; i += 1) {
        new TerraformDataCarrier(stack, `carrier${i}`, {
          triggersReplace: spec(i),
          provisioners: [provisioner('converge'), provisioner('delete', 'destroy')],
        });
      }
    });
  await median(1, constructs); // warm up module caches
  const tConstructs = await median(5, constructs);
  const tPairs = await median(5, pairs);
  const tBare = await median(5, bare);
  return [
    result('synth: 1,000 volumes vs the same 2,000 carriers built by hand', tConstructs, tPairs, 'ms', { max: 1.5 }),
    result(
      'synth: 1,000 volumes vs 1,000 bare carriers (informational: twice the resources)',
      tConstructs,
      tBare,
      'ms',
      { max: 3 },
    ),
  ];
}
