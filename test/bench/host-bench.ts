/**
 * Host benchmarks, each against a baseline measured in the same run:
 *  - 20 disks of 500 GB provisioned (create, format, attach, mount) through the handlers vs the same
 *    raw commands in one shell loop;
 *  - one handler invocation that finds nothing to do vs a bare `node -e 0`;
 *  - read and write bandwidth through a mounted disk vs the host filesystem under the same directory
 *    (bandwidth-bench.ts).
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
import { paired, result, timeIt, type BenchResult } from './measure.js';
import { bandwidthBench } from './bandwidth-bench.js';

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

/**
 * One handler process that finds nothing to do (a converged disk, then its mount), as Terraform starts one
 * per resource, against a bare `node -e 0`: the three alternate, round by round, and the medians compare.
 */
export async function noopBench(): Promise<BenchResult[]> {
  return withRoot(async (root) => {
    const ctx = makeContext(root, { log: () => undefined });
    await converge(storageHandler, ctx, storageHandler.validate(storageWire(root)));
    await converge(mountHandler, ctx, mountHandler.validate(mountWire(root)));
    const handler = (kind: string, spec: object) => () => {
      const env = { ...process.env, HOSTSTORE_SPEC: JSON.stringify(spec) };
      const r = spawnSync(process.execPath, [CLI, 'handle', kind, 'converge'], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
    };
    const runs = {
      bare: () => spawnSync(process.execPath, ['-e', '0']),
      storage: handler('storage', storageWire(root)),
      mount: handler('mount', mountWire(root)),
    };
    const times: Record<keyof typeof runs, number[]> = { bare: [], storage: [], mount: [] };
    for (let round = -2; round < 21; round += 1) {
      for (const [name, run] of Object.entries(runs)) {
        const ms = await timeIt(run);
        if (round >= 0) times[name as keyof typeof runs].push(ms);
      }
    }
    const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    return (['storage', 'mount'] as const).map((kind) =>
      result(
        `no-op handler invocation (handle ${kind} converge) vs node -e 0 (rounds, ms: ${times[kind].map((t, i) => `${t.toFixed(0)}/${times.bare[i].toFixed(0)}`).join(' ')})`,
        mid(times[kind]),
        mid(times.bare),
        'ms',
        { max: 1.3 },
      ),
    );
  });
}

export async function hostBench(): Promise<BenchResult[]> {
  return [await provisionBench(), ...(await noopBench()), ...(await bandwidthBench())];
}
