/** `npm run bench`: every benchmark, each reported as a ratio to a baseline measured in the same run. */
import { synthBench } from './synth-bench.js';
import { hostBench } from './host-bench.js';
import { engineBench } from './engine-bench.js';
import { snapshotBench } from './snapshot-bench.js';
import { poolBench } from './pool-bench.js';
import { deployBench } from './deploy-bench.js';
import { remoteBench } from './remote-bench.js';
import { backupBench } from './backup-bench.js';
import { historyBench } from './history-bench.js';
import { dashboardBench } from './dashboard-bench.js';
import type { BenchResult } from './measure.js';

async function main(): Promise<void> {
  const only = process.argv[2];
  const results: BenchResult[] = [];
  if (!only || only === 'synth') results.push(...(await synthBench()));
  if (!only || only === 'host') {
    if (process.getuid?.() !== 0) process.stdout.write('skipping host benchmarks: they need root\n');
    else results.push(...(await hostBench()));
  }
  if (!only || only === 'snapshot') {
    if (process.getuid?.() !== 0) process.stdout.write('skipping snapshot benchmarks: they need root\n');
    else results.push(...(await snapshotBench()));
  }
  if (!only || only === 'pool') {
    if (process.getuid?.() !== 0) process.stdout.write('skipping pool benchmarks: they need root\n');
    else results.push(...(await poolBench()));
  }
  if (!only || only === 'engine') {
    if (process.getuid?.() !== 0) process.stdout.write('skipping engine benchmarks: they need root\n');
    else results.push(...(await engineBench()));
  }
  // `deploy [which] [N,N,...]`: one of its benchmarks, optionally with other sizes (see deploy-bench.ts).
  if (!only || only === 'deploy') {
    const sizes = process.argv[4]?.split(',').map(Number);
    results.push(...(await deployBench(process.argv[3], sizes)));
  }
  // `remote [apply|noop|fleet]`: a loopback sshd host against the same jobs run locally (see remote-bench.ts).
  if (!only || only === 'remote') {
    if (process.getuid?.() !== 0) process.stdout.write('skipping remote benchmarks: they need root\n');
    else results.push(...(await remoteBench(process.argv[3])));
  }
  // `backup [rounds]`: pushes and restores of a 10 GB image holding 2 GB vs restic by hand (see backup-bench.ts).
  if (!only || only === 'backup') {
    if (process.getuid?.() !== 0) process.stdout.write('skipping backup benchmarks: they need root\n');
    else results.push(...(await backupBench(process.argv[3])));
  }
  // `history [rounds]`: `hoststore history NAME` on 10,000 journal lines vs reading the file (see history-bench.ts).
  if (!only || only === 'history') results.push(...(await historyBench(process.argv[3])));
  // `dashboard [rounds]`: the dashboard's API on 1,000 disks vs `hoststore list --json` (see dashboard-bench.ts).
  if (!only || only === 'dashboard') {
    if (process.getuid?.() !== 0) process.stdout.write('skipping dashboard benchmarks: they need root\n');
    else results.push(...(await dashboardBench(process.argv[3])));
  }
  for (const r of results) {
    process.stdout.write(
      `${r.informational ? 'INFO' : r.pass ? 'PASS' : 'MISS'}  ${r.ratio.toFixed(2)}x (target ${r.target})  ${r.name}: ${r.measured} vs ${r.baseline}\n`,
    );
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exitCode = 1;
});
