/**
 * Synth of a project with 1,000 storage resources against the same carriers built by hand (one per volume:
 * identity triggers, the spec as input, and its output; and the manifest with one spec entry per volume,
 * the digest, and its destroy-time retirement), and against 1,000 bare carriers: what the constructs' validation and rendering
 * cost on top of the Terraform they produce.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, TerraformOutput, TerraformStack } from 'cdktf';
import { TerraformDataCarrier } from '../helpers/terraform-data-carrier.js';
import { StorageProject, Volume } from '../../src/index.js';
import { median, result, type BenchResult } from './measure.js';
import { specEntryTemplate, refExpression } from '../../src/manifest-specs.js';

const N = 1000;
const provisioner = (op: string, when?: 'destroy') => ({
  type: 'local-exec' as const,
  command: `"$HOSTSTORE_CLI" handle project ${op}`,
  environment: {
    HOSTSTORE_CLI: '/usr/bin/hoststore',
    HOSTSTORE_SPEC: '${jsonencode(self.triggers_replace)}',
    HOSTSTORE_MANIFEST_ID: '${self.id}',
  },
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
  const byHand = () =>
    synthIn((stack) => {
      const carriers = [];
      for (let i = 0; i < N; i += 1) {
        const { kind, root, project, name } = spec(i);
        // Each volume's output, as the constructs add it.
        new TerraformOutput(stack, `bench_v${i}_storage`, {
          value: { host_paths: [], image_paths: [`${root}/projects/${project}/volumes/${name}.img`], size_gb: 10 },
          description: `volume '${name}': host paths its Mounts bind it at, its disk images, its size in GB`,
        }).overrideLogicalId(`bench_v${i}_storage`);
        carriers.push(
          new TerraformDataCarrier(stack, `identity${i}`, {
            triggersReplace: { kind, root, project, name },
            input: spec(i),
          }),
        );
      }
      const refs = carriers.map((c) => ({
        type: 'terraform_data' as const,
        id: c.friendlyUniqueId,
        attribute: 'input' as const,
      }));
      new TerraformDataCarrier(stack, 'manifest', {
        triggersReplace: {
          kind: 'project',
          root: '/var/lib/hoststore',
          project: 'bench',
          stack: 'bench',
          storage: carriers.map((_, i) => `volume:v${i}`).join(','),
          mounts: '',
          policies: '',
          specs: `\${sha256(jsonencode([${refs.map(refExpression).join(', ')}]))}`,
        },
        provisioners: [
          {
            ...provisioner('converge'),
            environment: {
              ...provisioner('converge').environment,
              ...Object.fromEntries(
                refs.map((r, i) => [`HOSTSTORE_SPEC_${i + 1}`, specEntryTemplate(`bench/bench/v${i}`, 'storage', r)]),
              ),
            },
          },
          provisioner('delete', 'destroy'),
        ],
      });
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
  const tByHand = await median(5, byHand);
  const tBare = await median(5, bare);
  return [
    result('synth: 1,000 volumes vs the same 1,001 carriers built by hand', tConstructs, tByHand, 'ms', { max: 1.5 }),
    result('synth: 1,000 volumes vs 1,000 bare carriers (informational)', tConstructs, tBare, 'ms', { max: 3 }),
  ];
}
