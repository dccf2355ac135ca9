/**
 * Engine benchmarks: plan time with no changes for 10, 100 and 1,000 resources against a converged host
 * (baseline: loading and parsing the synthesized JSON plus one stat per image), and applying 20 disks
 * through the engine vs the raw shell loop of the same commands.
 */
import * as fs from 'node:fs';
import { readDesired } from '../../provider/plan/desired.js';
import { makePlan } from '../../provider/plan/plan.js';
import { applyPlan } from '../../provider/plan/apply.js';
import { synthModel } from '../helpers/synth-model.js';
import type { StorageModel } from '../helpers/cdktf-app.js';
import { rawLoopMs, withRoot } from './host-bench.js';
import { median, paired, result, timeIt, type BenchResult } from './measure.js';

function disks(n: number, withMounts: boolean): StorageModel[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `d${i}`,
    type: 'Disk' as const,
    props: { name: `d${i}`, sizeGb: withMounts ? 500 : 1 },
    mounts: withMounts ? [{ id: `m${i}`, service: `s${i}`, mountPath: '/data' }] : [],
  }));
}

const quiet = { allowDataLoss: new Set<string>(), log: () => undefined };

async function planBench(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const perResource: string[] = [];
  for (const n of [10, 100, 1000]) {
    await withRoot(async (root) => {
      const out = synthModel({ stack: 'bench', root, storage: disks(n, false) });
      try {
        await applyPlan(makePlan(readDesired(out)), quiet);
        const images = fs.readdirSync(`${root}/disks`).map((f) => `${root}/disks/${f}`);
        const plan = () => makePlan(readDesired(out));
        const baseline = () => {
          const manifest = JSON.parse(fs.readFileSync(`${out}/manifest.json`, 'utf8'));
          for (const s of Object.values(manifest.stacks) as Array<{ synthesizedStackPath: string }>)
            JSON.parse(fs.readFileSync(`${out}/${s.synthesizedStackPath}`, 'utf8'));
          for (const image of images) fs.statSync(image);
        };
        // Steady state for both: three warm-up runs each (JIT, page cache), then the median of nine.
        await median(3, plan);
        await median(3, baseline);
        const tPlan = await median(9, plan);
        const tBaseline = await median(9, baseline);
        perResource.push(`${n}: ${((tPlan / n) * 1000).toFixed(0)} us/resource`);
        if (n === 1000)
          results.push(
            result(
              `plan, no changes, 1,000 disks vs parse synth JSON + stat each image (per resource: ${perResource.join(', ')})`,
              tPlan,
              tBaseline,
              'ms',
              { max: 3 },
            ),
          );
      } finally {
        fs.rmSync(out, { recursive: true, force: true });
      }
    });
  }
  return results;
}

async function applyBench(): Promise<BenchResult> {
  const raw = () => rawLoopMs(20);
  const engine = () =>
    withRoot(async (root) => {
      const out = synthModel({ stack: 'bench', root, storage: disks(20, true) });
      try {
        return await timeIt(async () => applyPlan(makePlan(readDesired(out)), quiet));
      } finally {
        fs.rmSync(out, { recursive: true, force: true });
      }
    });
  const times = await paired(7, engine, raw);
  return result(
    `apply 20 disks of 500 GB through the engine (plan + apply) vs raw shell loop (rounds, ms: ${times.rounds})`,
    times.measured,
    times.baseline,
    'ms',
    { max: 1.3 },
  );
}

export async function engineBench(): Promise<BenchResult[]> {
  return [...(await planBench()), await applyBench()];
}
