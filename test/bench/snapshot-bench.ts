/**
 * Snapshot benchmarks, cold cache (page cache dropped before every run), paired rounds:
 *  - a mounted (and an unmounted) 10 GB ext4 image holding 1 GB on a root without reflink: snapshot
 *    (frozen copy + checksum in one pass, read-only, record) vs `cp --sparse=always` of the same image;
 *  - the same mounted image on an xfs root with reflink: the snapshot's time outside its freeze vs
 *    `cp --reflink`, and its freeze window vs 100 ms.
 * Every round is printed, with the freeze window of each snapshot.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { converge, makeContext, remove } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { takeSnapshot } from '../../provider/snapshots/snapshots.js';
import { filesystemType } from '../../provider/snapshots/snapshot-method.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { withRoot } from './host-bench.js';
import { paired, result, timeIt, type BenchResult } from './measure.js';

const ROUNDS = 5;

async function diskWithData(root: string, dataGiB: number, mounted: boolean) {
  const ctx = makeContext(root, { log: () => undefined });
  await converge(storageHandler, ctx, storageHandler.validate(storageWire(root, { size_gb: '10' })));
  await converge(mountHandler, ctx, mountHandler.validate(mountWire(root)));
  execFileSync(
    'dd',
    ['if=/dev/urandom', `of=${mountWire(root).host_path}/data`, 'bs=1M', `count=${dataGiB * 1024}`, 'conv=fsync'],
    { stdio: 'ignore' },
  );
  if (!mounted) await remove(mountHandler, ctx, mountHandler.validate(mountWire(root)));
  return { ctx, record: ctx.registry.storage('disk', 'app', 'data')! };
}

/**
 * A disk's data is written through the loop device with direct I/O, so it is not in the host's page
 * cache when a snapshot is taken: each run, of both, starts with clean cached pages dropped (the
 * kernel's drop_caches; where that is not writable, dd's per-file hint, which may leave some).
 */
function dropCache(image: string): void {
  execFileSync('sync');
  try {
    fs.writeFileSync('/proc/sys/vm/drop_caches', '1');
  } catch {
    execFileSync('dd', [`if=${image}`, 'iflag=nocache', 'count=0'], { stdio: 'ignore' });
  }
}

/**
 * `rounds` paired runs of a snapshot of the disk and of `cp cpArgs` of its image, both cold; returns
 * the medians, every round and every freeze window. Snapshots are taken with a freeze limit high enough
 * for the copy (the point is to measure it, not to be refused).
 */
async function snapshotVsCp(root: string, mounted: boolean, cpArgs: string[]) {
  const { record } = await diskWithData(root, 1, mounted);
  const cpTarget = path.join(root, 'cp-copy.img');
  let second = 0;
  const frozen: number[] = [];
  const outside: number[] = [];
  const times = await paired(
    ROUNDS,
    async () => {
      const ctx = makeContext(root, {
        log: () => undefined,
        now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, second)),
      });
      second += 1;
      dropCache(record.path);
      let snap: Awaited<ReturnType<typeof takeSnapshot>> | undefined;
      const t = await timeIt(async () => {
        snap = await takeSnapshot(ctx, record, 'manual', undefined, { maxFreezeSeconds: 120 });
      });
      frozen.push(snap!.frozenMs);
      outside.push(t - snap!.frozenMs);
      for (const s of ctx.registry.list<{ path: string }>('snapshots')) fs.rmSync(s.record.path, { force: true });
      return t;
    },
    async () => {
      dropCache(record.path);
      const t = await timeIt(() => execFileSync('cp', [...cpArgs, record.path, cpTarget]));
      fs.rmSync(cpTarget);
      return t;
    },
  );
  if (mounted) {
    const ctx = makeContext(root, { log: () => undefined });
    await remove(mountHandler, ctx, mountHandler.validate(mountWire(root)));
  }
  const mid = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  return { ...times, frozen, frozenMedian: mid(frozen), outsideMedian: mid(outside), outside };
}

async function sparseCopyRoot(): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  for (const mounted of [true, false]) {
    await withRoot(async (root) => {
      const times = await snapshotVsCp(root, mounted, ['--sparse=always']);
      rows.push(
        result(
          `snapshot of a${mounted ? ' mounted' : 'n unmounted'} 10 GB image with 1 GB of data, ${filesystemType(root)} root, cold, vs cp --sparse=always (rounds, ms: ${times.rounds}${mounted ? `; frozen ms: ${times.frozen.join(' ')}` : ''})`,
          times.measured,
          times.baseline,
          'ms',
          { max: 1.3 },
        ),
      );
    });
  }
  return rows;
}

/** A root on a fresh xfs filesystem (reflink) built on a loop device for the bench. */
async function onXfs<T>(fn: (root: string) => Promise<T>): Promise<T> {
  return withRoot(async (outer) => {
    const image = path.join(outer, 'xfs.img');
    const root = path.join(outer, 'xfs');
    execFileSync('truncate', ['-s', '40G', image]);
    execFileSync('mkfs.xfs', ['-q', '-m', 'reflink=1', image]);
    fs.mkdirSync(root);
    execFileSync('mount', ['-o', 'loop', image, root]);
    try {
      return await fn(root);
    } finally {
      const { cleanupRoot } = await import('../helpers/host-fixture.js');
      for (const entry of fs.readdirSync(root)) {
        if (entry !== 'lost+found') fs.mkdirSync(path.join(root, entry), { recursive: true });
      }
      // unmount what the snapshot run mounted inside, then the xfs itself
      cleanupRoot(path.join(root, 'projects'));
      execFileSync('bash', [
        '-c',
        `findmnt -rn -o TARGET | grep '^${root}/' | sort -r | xargs -r umount; umount ${root}`,
      ]);
    }
  });
}

async function reflinkRoot(): Promise<BenchResult[]> {
  return onXfs(async (root) => {
    const times = await snapshotVsCp(root, true, ['--reflink=always']);
    return [
      result(
        `reflink snapshot of a mounted 10 GB image with 1 GB of data, xfs root, cold: time outside the freeze vs cp --reflink (rounds, snapshot/cp ms: ${times.rounds}; outside the freeze ms: ${times.outside.map((t) => t.toFixed(0)).join(' ')})`,
        times.outsideMedian,
        times.baseline,
        'ms',
        { max: 2 },
      ),
      result(
        `reflink snapshot's freeze window vs 100 ms (frozen ms: ${times.frozen.join(' ')})`,
        times.frozenMedian,
        100,
        'ms',
        { max: 1 },
      ),
    ];
  });
}

export async function snapshotBench(): Promise<BenchResult[]> {
  return [...(await sparseCopyRoot()), ...(await reflinkRoot())];
}
