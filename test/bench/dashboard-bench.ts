/**
 * Dashboard benchmarks (`npm run bench -- dashboard [rounds]`): a root with 1,000 disks (real sparse images, each
 * a real ext4 filesystem, recorded in the registry as the storage handler records them) and the dashboard already
 * listening on it; GET /api/overview against `hoststore list --json --root R` (the built CLI, a process per run),
 * interleaved rounds, every round printed. GET /api/storage and /metrics are timed beside them, for what they show,
 * and a dashboard started for one overview (process start included, as the CLI's is).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { imagePath } from '../../src/schema.js';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { storageWire } from '../helpers/specs.js';
import { startDashboard } from '../helpers/dashboard-process.js';
import { withRoot } from './host-bench.js';
import { interleaved, result, timeIt, type BenchResult, type JobTimes } from './measure.js';

/** The CLI beside this module once built (dist/test/bench -> dist/provider). */
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../provider/cli.js');
const STORAGE = 1000;
const PROJECTS = 10;

const rounds = (t: JobTimes) => t.times.map((ms) => ms.toFixed(0)).join(' ');

/**
 * `STORAGE` disks `d0`..`d999` in projects `p0`..`p9`: the first made by the storage handler (create, format,
 * record), the others copies of its image (`cp --sparse=always`) under their own names, each with the first's
 * record renamed, so every image holds a real filesystem whose superblock can be read.
 */
async function thousandDisks(root: string): Promise<void> {
  const ctx = makeContext(root, { log: () => undefined });
  await converge(
    storageHandler,
    ctx,
    storageHandler.validate(storageWire(root, { project: 'p0', name: 'd0', stack: 'bench', size_gb: '1' })),
  );
  const first = ctx.registry.storage('disk', 'p0', 'd0')!;
  for (let i = 1; i < STORAGE; i += 1) {
    const project = `p${i % PROJECTS}`;
    const name = `d${i}`;
    const image = imagePath(root, 'disk', project, name);
    fs.mkdirSync(path.dirname(image), { recursive: true, mode: 0o700 });
    execFileSync('cp', ['--sparse=always', first.path, image]);
    ctx.registry.putStorage({ ...first, project, name, path: image });
  }
}

export async function dashboardBench(roundsArg?: string): Promise<BenchResult[]> {
  const n = Math.max(1, Number(roundsArg ?? 5) || 5);
  return withRoot(async (root) => {
    const made = await timeIt(() => thousandDisks(root));
    process.stdout.write(`dashboard bench: ${STORAGE} disks made on ${root} in ${(made / 1000).toFixed(1)} s\n`);
    const dashboard = await startDashboard(CLI, ['--root', root]);
    try {
      const get = async (route: string) => {
        const response = await fetch(`${dashboard.url}${route}`);
        if (response.status !== 200) throw new Error(`GET ${route}: HTTP ${response.status}`);
        return response.text();
      };
      const list = () =>
        execFileSync(process.execPath, [CLI, 'list', '--json', '--root', root], {
          encoding: 'utf8',
          maxBuffer: 256 * 1024 * 1024,
        });
      // Both see every disk, and once each before timing (the server's first answer, the CLI's page cache).
      const listed = JSON.parse(list()).length;
      const served = JSON.parse(await get('/api/storage')).length;
      if (listed !== STORAGE || served !== STORAGE)
        throw new Error(`expected ${STORAGE} storage, list --json has ${listed}, /api/storage ${served}`);
      await get('/api/overview');
      await get('/metrics');
      const [overview, cli, storage, metrics, cold] = await interleaved(n, [
        { name: 'GET /api/overview', run: () => timeIt(() => get('/api/overview')) },
        { name: 'hoststore list --json', run: () => timeIt(list) },
        { name: 'GET /api/storage', run: () => timeIt(() => get('/api/storage')) },
        { name: 'GET /metrics', run: () => timeIt(() => get('/metrics')) },
        // Like for like with the CLI's process per run: a dashboard started, its first overview, stopped.
        {
          name: 'dashboard started + first GET /api/overview',
          run: async () => {
            const cold = await startDashboard(CLI, ['--root', root]);
            try {
              const started = cold.startedAt;
              const response = await fetch(`${cold.url}/api/overview`);
              await response.text();
              return performance.now() - started;
            } finally {
              await cold.stop();
            }
          },
        },
      ]);
      for (const t of [overview, cli, storage, metrics, cold])
        process.stdout.write(`  ${t.name}: rounds ms ${rounds(t)}; median ${t.median.toFixed(1)} ms\n`);
      const of = (t: JobTimes) => `rounds ms: ${rounds(t)} / ${rounds(cli)}`;
      return [
        result(
          `GET /api/overview on ${STORAGE} disks (dashboard listening) vs hoststore list --json --root (${of(overview)})`,
          overview.median,
          cli.median,
          'ms',
          { max: 1.5 },
        ),
        result(
          `GET /api/storage on ${STORAGE} disks vs hoststore list --json (${of(storage)})`,
          storage.median,
          cli.median,
          'ms',
          {},
        ),
        result(
          `a dashboard process started, its first GET /api/overview, vs hoststore list --json (${of(cold)})`,
          cold.median,
          cli.median,
          'ms',
          {},
        ),
        result(
          `GET /metrics on ${STORAGE} disks vs hoststore list --json (${of(metrics)})`,
          metrics.median,
          cli.median,
          'ms',
          {},
        ),
      ];
    } finally {
      const code = await dashboard.stop();
      if (code !== 0) process.stdout.write(`dashboard exited with ${code}: ${dashboard.output()}\n`);
    }
  });
}
