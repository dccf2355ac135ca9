/**
 * Deploy-path benchmarks through the real synth pipeline (constructs -> cdktf.out -> terraform), so they
 * measure whichever rendering the constructs have:
 *  - apply: 50 volumes (10 GB ext4) with a Mount each, from nothing: `terraform apply` of the synthesized
 *    stack vs `hoststore apply` of the same synth output, and each against the raw shell loop (context);
 *  - noop: the same stack converged: a no-op `terraform apply` vs a no-op `hoststore apply`;
 *  - terraform-scaling: Terraform's own time with the rendering, 50 / 100 / 200 volumes with mounts whose
 *    provisioners run /bin/true: apply from nothing and a no-op plan, per resource (informational; 1,000
 *    volumes take over 15 minutes: `npm run bench -- deploy terraform-scaling 100,500,1000`);
 *  - synth-scaling: synth of 250 / 500 / 1,000 / 2,000 volumes with mounts, per volume (linear: <= 1.5x).
 * `npm run bench -- deploy [apply|noop|terraform-scaling|synth-scaling] [N,N,...]` runs one of them (with
 * other sizes, for the scaling ones).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { replicaHostPath } from '../../src/schema.js';
import { readMountTable } from '../../provider/host/mounts.js';
import { synthModel } from '../helpers/synth-model.js';
import { terraformAvailable, type StorageModel } from '../helpers/cdktf-app.js';
import { rawLoopMs, withRoot } from './host-bench.js';
import { interleaved, result, timeIt, type BenchResult, type JobTimes } from './measure.js';
import { terraformDir, type TerraformDir } from './terraform-dir.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../provider/cli.js');
const STACK = 'bench';
const VOLUMES = 50;
const APPLY = ['apply', '-auto-approve', '-input=false', '-no-color'];

const log = (line: string) => process.stdout.write(`  deploy: ${line}\n`);
const ms = (t: number) => t.toFixed(0);

function volumesWithMounts(n: number): StorageModel[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `v${i}`,
    type: 'Volume' as const,
    props: { sizeGb: 10 },
    mounts: [{ id: `m${i}`, service: `s${i}`, mountPath: '/data' }],
  }));
}

/** The synth output of `n` volumes with mounts in project `app` at `root` (a temporary directory: remove it). */
function synthVolumes(root: string, n: number, cli?: string): string {
  return synthModel(
    { stack: STACK, root, storage: volumesWithMounts(n) },
    { limits: { maxVolumes: n }, ...(cli ? { cli } : {}) },
  );
}

async function withSynth<T>(root: string, n: number, fn: (out: string) => Promise<T>): Promise<T> {
  const out = synthVolumes(root, n);
  try {
    return await fn(out);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** `hoststore apply --auto-approve` of a synth output, as a user runs it (its own process); throws on failure. */
function hoststoreApply(out: string): number {
  const start = performance.now();
  const run = spawnSync(process.execPath, [CLI, 'apply', '--app', out, '--auto-approve'], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const t = performance.now() - start;
  if (run.status !== 0)
    throw new Error(`hoststore apply failed (${run.error?.message ?? run.status}):\n${run.stderr.slice(-3000)}`);
  return t;
}

/** A deploy that silently did nothing must not pass for a fast one: every service's volume is mounted. */
function assertMounted(root: string, n: number, by: string): void {
  const targets = new Set(readMountTable().map((e) => e.target));
  const missing = volumesWithMounts(n)
    .map((_, i) => replicaHostPath(root, 'app', `s${i}`, 1, '/data'))
    .filter((p) => !targets.has(p));
  if (missing.length > 0) throw new Error(`${by} left ${missing.length} of ${n} mounts missing, e.g. ${missing[0]}`);
}

/** `measured/baseline` ms of each round, as `paired` reports them. */
const rounds = (a: JobTimes, b: JobTimes) => a.times.map((t, i) => `${ms(t)}/${ms(b.times[i])}`).join(' ');

async function applyBench(): Promise<BenchResult[]> {
  const terraform = () =>
    withRoot((root) =>
      withSynth(root, VOLUMES, async (out) => {
        const tf = terraformDir(out, STACK);
        const t = tf.run(...APPLY).ms;
        assertMounted(root, VOLUMES, 'terraform apply');
        log(`terraform apply, ${VOLUMES} volumes from nothing: ${ms(t)} ms`);
        return t;
      }),
    );
  const hoststore = () =>
    withRoot((root) =>
      withSynth(root, VOLUMES, async (out) => {
        const t = hoststoreApply(out);
        assertMounted(root, VOLUMES, 'hoststore apply');
        log(`hoststore apply, ${VOLUMES} volumes from nothing: ${ms(t)} ms`);
        return t;
      }),
    );
  const raw = async () => {
    const t = await rawLoopMs(VOLUMES, 10);
    log(`raw shell loop, ${VOLUMES} images of 10 GB: ${ms(t)} ms`);
    return t;
  };
  const [tf, hs, sh] = await interleaved(5, [
    { name: 'terraform apply', run: terraform },
    { name: 'hoststore apply', run: hoststore },
    { name: 'raw shell loop', run: raw },
  ]);
  const what = `${VOLUMES} volumes (10 GB ext4) with mounts from nothing`;
  return [
    result(
      `${what}: terraform apply of the synth output vs hoststore apply of it (rounds, ms: ${rounds(tf, hs)})`,
      tf.median,
      hs.median,
      'ms',
      { max: 1.5 },
    ),
    result(
      `${what}: terraform apply vs the raw shell loop (context; rounds, ms: ${rounds(tf, sh)})`,
      tf.median,
      sh.median,
      'ms',
      {},
    ),
    result(
      `${what}: hoststore apply vs the raw shell loop (context; rounds, ms: ${rounds(hs, sh)})`,
      hs.median,
      sh.median,
      'ms',
      {},
    ),
  ];
}

/** The summary line of an apply that changed something ("Apply complete! Resources: 0 added, 1 changed, ..."). */
function changedSomething(output: string): string | undefined {
  if (/No changes\./.test(output)) return undefined;
  return output.split('\n').find((l) => l.startsWith('Apply complete!')) ?? 'no summary line';
}

async function noopBench(): Promise<BenchResult> {
  return withRoot((root) =>
    withSynth(root, VOLUMES, async (out) => {
      const tf = terraformDir(out, STACK);
      tf.run(...APPLY);
      assertMounted(root, VOLUMES, 'terraform apply');
      const terraform = async () => {
        const { ms: t, output } = tf.run(...APPLY);
        const changed = changedSomething(output);
        log(`no-op terraform apply: ${ms(t)} ms${changed ? ` (NOT a no-op: ${changed})` : ''}`);
        return t;
      };
      const hoststore = async () => {
        const t = hoststoreApply(out);
        log(`no-op hoststore apply: ${ms(t)} ms`);
        return t;
      };
      const [t, h] = await interleaved(5, [
        { name: 'terraform apply', run: terraform },
        { name: 'hoststore apply', run: hoststore },
      ]);
      return result(
        `no-op deploy of ${VOLUMES} converged volumes with mounts: terraform apply vs hoststore apply (rounds, ms: ${rounds(t, h)})`,
        t.median,
        h.median,
        'ms',
        { max: 1.5 },
      );
    }),
  );
}

/**
 * Terraform's own time with the rendering: the provisioners run /bin/true, so nothing touches the host and
 * only Terraform counts. Fewer rounds for the large stacks: an apply of thousands of resources takes minutes.
 */
async function terraformScalingBench(sizes: readonly number[]): Promise<BenchResult[]> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-bench-scaling-'));
  const outs: string[] = [];
  try {
    const stacks: Array<{ n: number; tf: TerraformDir }> = [];
    for (const n of sizes) {
      // The root is never made: /bin/true is all the provisioners run.
      const out = synthVolumes(path.join(base, 'root'), n, '/bin/true');
      outs.push(out);
      stacks.push({ n, tf: terraformDir(out, STACK) });
    }
    const plans = new Map<number, number[]>(sizes.map((n) => [n, []]));
    const jobs = stacks.map(({ n, tf }) => ({
      name: `${n}`,
      rounds: n <= 200 ? 3 : 1,
      run: async () => {
        tf.removeState();
        const apply = tf.run(...APPLY).ms;
        const plan = tf.run('plan', '-input=false', '-no-color');
        if (!/No changes\./.test(plan.output))
          throw new Error(`terraform plan after an apply of ${n} volumes found changes`);
        plans.get(n)!.push(plan.ms);
        const per = (t: number) => (t / tf.resources).toFixed(1);
        log(
          `terraform, ${n} volumes with mounts (${tf.resources} resources, /bin/true): apply from nothing ${ms(apply)} ms ` +
            `(${per(apply)} ms/resource), no-op plan ${ms(plan.ms)} ms (${per(plan.ms)} ms/resource)`,
        );
        return apply;
      },
    }));
    const applies = await interleaved(3, jobs);
    const mid = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    const perResource = (i: number, t: number) => t / stacks[i].tf.resources;
    const describe = (times: (i: number) => readonly number[]) =>
      stacks
        .map(
          ({ n, tf }, i) =>
            `${n}: ${tf.resources} resources, ${perResource(i, mid([...times(i)])).toFixed(1)} ms/resource (rounds, ms: ${times(i).map(ms).join(' ')})`,
        )
        .join('; ');
    const last = stacks.length - 1;
    const planTimes = (i: number) => plans.get(stacks[i].n)!;
    return [
      result(
        `terraform apply from nothing, ms per resource at ${sizes[last]} vs ${sizes[0]} volumes with mounts (${describe((i) => applies[i].times)})`,
        perResource(last, applies[last].median),
        perResource(0, applies[0].median),
        'ms/resource',
        {},
      ),
      result(
        `terraform plan, no changes, ms per resource at ${sizes[last]} vs ${sizes[0]} volumes with mounts (${describe(planTimes)})`,
        perResource(last, mid(planTimes(last))),
        perResource(0, mid(planTimes(0))),
        'ms/resource',
        {},
      ),
    ];
  } finally {
    for (const out of outs) fs.rmSync(out, { recursive: true, force: true });
    fs.rmSync(base, { recursive: true, force: true });
  }
}

/** Synth time of n volumes with mounts, per volume, from 250 to 2,000: linear means the same ms a volume. */
async function synthScalingBench(sizes: readonly number[]): Promise<BenchResult> {
  // Pure: nothing is made at the root, which only has to be a valid one.
  const synth = (n: number) => async () => {
    let out = '';
    const t = await timeIt(() => {
      out = synthVolumes('/var/lib/hoststore-bench', n);
    });
    fs.rmSync(out, { recursive: true, force: true });
    log(`synth of ${n} volumes with mounts: ${ms(t)} ms (${(t / n).toFixed(2)} ms/volume)`);
    return t;
  };
  await synth(sizes[0])(); // warm up module caches and the JIT
  const times = await interleaved(
    3,
    sizes.map((n) => ({ name: `${n}`, run: synth(n) })),
  );
  const last = sizes.length - 1;
  const described = sizes
    .map(
      (n, i) => `${n}: ${(times[i].median / n).toFixed(2)} ms/volume (rounds, ms: ${times[i].times.map(ms).join(' ')})`,
    )
    .join('; ');
  return result(
    `synth, ms per volume with mount at ${sizes[last]} vs ${sizes[0]} volumes (${described})`,
    times[last].median / sizes[last],
    times[0].median / sizes[0],
    'ms/volume',
    { max: 1.5 },
  );
}

export async function deployBench(which?: string, sizes?: readonly number[]): Promise<BenchResult[]> {
  const known = ['apply', 'noop', 'terraform-scaling', 'synth-scaling'];
  if (which !== undefined && !known.includes(which))
    throw new Error(`unknown deploy benchmark '${which}': one of ${known.join(', ')}`);
  const want = (name: string) => which === undefined || which === name;
  const isRoot = process.getuid?.() === 0;
  const haveTerraform = terraformAvailable();
  const results: BenchResult[] = [];
  const skip = (name: string, why: string) => process.stdout.write(`skipping deploy benchmark ${name}: ${why}\n`);
  for (const name of ['apply', 'noop']) {
    if (!want(name)) continue;
    if (!isRoot) skip(name, 'it needs root');
    else if (!haveTerraform) skip(name, 'terraform is not on the PATH');
    else results.push(...(name === 'apply' ? await applyBench() : [await noopBench()]));
  }
  if (want('terraform-scaling')) {
    if (!haveTerraform) skip('terraform-scaling', 'terraform is not on the PATH');
    else results.push(...(await terraformScalingBench(sizes ?? [50, 100, 200])));
  }
  if (want('synth-scaling')) results.push(await synthScalingBench(sizes ?? [250, 500, 1000, 2000]));
  return results;
}
