import fs from 'node:fs';
import { readDesired } from './dist/provider/plan/desired.js';
import { makePlan } from './dist/provider/plan/plan.js';
import { applyPlan } from './dist/provider/plan/apply.js';
import { synthModel } from './dist/test/helpers/synth-model.js';
import { withRoot } from './dist/test/bench/host-bench.js';
const n=1000;
const disks=Array.from({ length: n }, (_, i) => ({ id: `d${i}`, type: 'Disk', props: { name: `d${i}`, sizeGb: 1 }, mounts: [] }));
await withRoot(async (root) => {
  const out = synthModel({ stack: 'bench', root, storage: disks });
  await applyPlan(makePlan(readDesired(out)), { allowDataLoss: new Set(), log: () => {} });
  const ts=[];
  for (let k=0;k<15;k++){ const s=performance.now(); makePlan(readDesired(out)); ts.push((performance.now()-s).toFixed(0)); }
  console.log(ts.join(' '));
  if (process.argv[2]) {
  const { Session } = await import('node:inspector/promises');
  const session = new Session(); session.connect(); await session.post('Profiler.enable'); await session.post('Profiler.start');
  for (let k=0;k<10;k++) makePlan(readDesired(out));
  const { profile } = await session.post('Profiler.stop');
  fs.rmSync('/tmp/prof',{recursive:true,force:true}); fs.mkdirSync('/tmp/prof'); fs.writeFileSync('/tmp/prof/p.cpuprofile', JSON.stringify(profile));
  }
  fs.rmSync(out, { recursive: true, force: true });
});
