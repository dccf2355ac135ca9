/**
 * Read and write bandwidth through a mounted disk vs the host filesystem under the same directory: 1 MiB
 * O_DIRECT sequential I/O of 1 GiB, one request at a time (fio's psync engine, as issue 11 measured; `dd`
 * with iflag/oflag=direct when fio is missing). Disk and host alternate within each round, the order
 * flipping every round, since this VM's disk speed swings by ±20% from minute to minute.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { findTool } from '../../provider/exec.js';
import { loopsFor } from '../../provider/host/loop.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { withRoot } from './host-bench.js';
import { result, type BenchResult } from './measure.js';

const ROUNDS = 7;
const MIB = 1024;

type Direction = 'read' | 'write';

/** MiB/s of one 1 GiB O_DIRECT pass over `file` in 1 MiB requests. */
function pass(file: string, direction: Direction): number {
  if (findTool('fio')) {
    const out = execFileSync(
      'fio',
      [
        '--name=bw',
        `--filename=${file}`,
        `--size=${MIB}M`,
        '--bs=1M',
        '--direct=1',
        '--ioengine=psync',
        `--rw=${direction}`,
        // The write is done when it is on the disk, as for dd's conv=fsync.
        ...(direction === 'write' ? ['--end_fsync=1'] : []),
        '--output-format=json',
      ],
      { encoding: 'utf8' },
    );
    return JSON.parse(out).jobs[0][direction].bw_bytes / 2 ** 20;
  }
  const args =
    direction === 'write'
      ? ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${MIB}`, 'oflag=direct', 'conv=fsync']
      : [`if=${file}`, 'of=/dev/null', 'bs=1M', 'iflag=direct'];
  const start = process.hrtime.bigint();
  execFileSync('dd', args, { stdio: 'ignore' });
  return MIB / (Number(process.hrtime.bigint() - start) / 1e9);
}

/**
 * Each write goes to a new file (the old one removed and synced first), so both sides allocate as an app's
 * new data does; reads read a file written once beforehand with O_DIRECT.
 */
function measure(dir: string, direction: Direction): number {
  const file = path.join(dir, `bw-${direction}`);
  if (direction === 'write') {
    fs.rmSync(file, { force: true });
    execFileSync('sync');
  }
  return pass(file, direction);
}

const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function bandwidthBench(): Promise<BenchResult[]> {
  return withRoot(async (root) => {
    const ctx = makeContext(root, { log: () => undefined });
    await converge(storageHandler, ctx, storageHandler.validate(storageWire(root, { size_gb: '10' })));
    await converge(mountHandler, ctx, mountHandler.validate(mountWire(root)));
    const sides = { disk: mountWire(root).host_path, host: path.join(root, 'host-side') };
    fs.mkdirSync(sides.host);
    const image = ctx.registry.storage('disk', 'app', 'data')!.path;
    const device = loopsFor(image)[0];
    const queue = (f: string) => fs.readFileSync(`/sys/block/${path.basename(device)}/${f}`, 'utf8').trim();
    const setup = `${findTool('fio') ? 'fio psync' : 'dd'}; ${device} dio=${queue('loop/dio')} sector=${queue('queue/logical_block_size')}`;
    for (const dir of Object.values(sides)) pass(path.join(dir, 'bw-read'), 'write');
    const results: BenchResult[] = [];
    for (const direction of ['write', 'read'] as const) {
      const got = { disk: [] as number[], host: [] as number[] };
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const side of round % 2 === 0 ? (['host', 'disk'] as const) : (['disk', 'host'] as const))
          got[side].push(measure(sides[side], direction));
      }
      const rounds = got.disk.map((d, i) => `${d.toFixed(0)}/${got.host[i].toFixed(0)}`).join(' ');
      results.push(
        result(
          `${direction} bandwidth, 1 MiB O_DIRECT: mounted disk vs host filesystem (${setup}; rounds, MiB/s disk/host: ${rounds})`,
          mid(got.disk),
          mid(got.host),
          'MiB/s',
          { min: 0.8 },
        ),
      );
    }
    return results;
  });
}
