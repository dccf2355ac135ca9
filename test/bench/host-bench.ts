/**
 * Host benchmarks, each against a baseline measured in the same run:
 *  - 20 disks of 500 GB provisioned (create, format, attach, mount) through the handlers vs the same
 *    raw commands in one shell loop;
 *  - one handler invocation that finds nothing to do vs a bare `node -e 0`;
 *  - write bandwidth through a mounted disk vs the host filesystem under the same directory.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { cleanupRoot } from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { median, paired, result, timeIt, type BenchResult } from './measure.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../provider/cli.js');
const DISKS = 20;

export const RAW_LOOP = `
set -e
root="$1"; n="$2"; size="\${3:-500}"
mkdir -p "$root/raw"
for i in $(seq 1 "$n"); do
  img="$root/raw/d$i.img"; mnt="$root/raw/m$i"
  truncate -s "\${size}G" "$img"
  mkfs.ext4 -q -F -L "d$i" -E lazy_itable_init=1,lazy_journal_init=1,nodiscard "$img"
  dev=$(losetup --find --show --direct-io=on "$img")
  mkdir -p "$mnt"
  mount -t ext4 -o rw "$dev" "$mnt"
done
`;

/** Milliseconds the raw shell loop takes to provision `disks` disks of `sizeGb` in a fresh root (the provisioning baseline). */
export function rawLoopMs(disks: number, sizeGb = 500): Promise<number> {
  return withRoot(async (root) =>
    timeIt(() => execFileSync('bash', ['-c', RAW_LOOP, 'raw', root, String(disks), String(sizeGb)])),
  );
}

export function withRoot<T>(fn: (root: string) => Promise<T>): Promise<T> {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-bench-')));
  return fn(root).finally(() => cleanupRoot(root));
}

async function provisionBench(): Promise<BenchResult> {
  const raw = () => rawLoopMs(DISKS);
  const handlers = () =>
    withRoot(async (root) => {
      const ctx = makeContext(root, { log: () => undefined });
      return timeIt(async () => {
        for (let i = 1; i <= DISKS; i += 1) {
          await converge(
            storageHandler,
            ctx,
            storageHandler.validate(storageWire(root, { name: `d${i}`, size_gb: '500' })),
          );
          await converge(
            mountHandler,
            ctx,
            mountHandler.validate(mountWire(root, { storage: `d${i}`, service: `s${i}` })),
          );
        }
      });
    });
  const times = await paired(7, handlers, raw);
  return result(
    `provision ${DISKS} disks of 500 GB (create, format, attach, mount): handlers vs raw shell loop (rounds, ms: ${times.rounds})`,
    times.measured,
    times.baseline,
    'ms',
    { max: 1.3 },
  );
}

async function noopBench(): Promise<BenchResult> {
  return withRoot(async (root) => {
    const ctx = makeContext(root, { log: () => undefined });
    await converge(storageHandler, ctx, storageHandler.validate(storageWire(root)));
    await converge(mountHandler, ctx, mountHandler.validate(mountWire(root)));
    const env = { ...process.env, HOSTSTORE_SPEC: JSON.stringify(mountWire(root)) };
    const handler = () => {
      const r = spawnSync(process.execPath, [CLI, 'handle', 'mount', 'converge'], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
    };
    const bare = () => spawnSync(process.execPath, ['-e', '0']);
    await median(2, handler);
    const tHandler = await median(15, handler);
    const tBare = await median(15, bare);
    return result('no-op handler invocation vs node -e 0', tHandler, tBare, 'ms', { max: 2 });
  });
}

function ddSeconds(file: string): number {
  const start = process.hrtime.bigint();
  execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', 'count=1024', 'conv=fsync'], { stdio: 'ignore' });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  fs.rmSync(file);
  return seconds;
}

async function bandwidthBench(): Promise<BenchResult> {
  return withRoot(async (root) => {
    const ctx = makeContext(root, { log: () => undefined });
    await converge(storageHandler, ctx, storageHandler.validate(storageWire(root, { size_gb: '4' })));
    await converge(mountHandler, ctx, mountHandler.validate(mountWire(root)));
    const mounted = mountWire(root).host_path;
    const mib = 1024;
    const host: number[] = [];
    const disk: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      host.push(mib / ddSeconds(path.join(root, 'host-file')));
      disk.push(mib / ddSeconds(path.join(mounted, 'disk-file')));
    }
    const med = (xs: number[]) => xs.sort((a, b) => a - b)[2];
    return result('write bandwidth: mounted disk vs host filesystem (MiB/s)', med(disk), med(host), 'MiB/s', {
      min: 0.8,
    });
  });
}

export async function hostBench(): Promise<BenchResult[]> {
  return [await provisionBench(), await noopBench(), await bandwidthBench()];
}
