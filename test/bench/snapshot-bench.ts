/**
 * Snapshot benchmarks: a 10 GB image holding 1 GB of data, snapshotted (copy + read-only + checksum)
 * vs `cp --sparse=always` of the same image; with the root on xfs (reflink), snapshot time at 1 GB and
 * 4 GB of data; and the freeze window of a mounted snapshot.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { takeSnapshot } from '../../provider/snapshots/snapshots.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { withRoot } from './host-bench.js';
import { paired, result, timeIt, type BenchResult } from './measure.js';

async function diskWithData(root: string, dataGiB: number, mounted: boolean) {
  const ctx = makeContext(root, { log: () => undefined });
  await converge(storageHandler, ctx, storageHandler.validate(storageWire(root, { size_gb: '10' })));
  await converge(mountHandler, ctx, mountHandler.validate(mountWire(root)));
  execFileSync(
    'dd',
    ['if=/dev/urandom', `of=${mountWire(root).host_path}/data`, 'bs=1M', `count=${dataGiB * 1024}`, 'conv=fsync'],
    { stdio: 'ignore' },
  );
  if (!mounted)
    await (
      await import('../../provider/handlers/handler.js')
    ).remove(mountHandler, ctx, mountHandler.validate(mountWire(root)));
  return { ctx, record: ctx.registry.storage('disk', 'app', 'data')! };
}

async function copyVsSnapshot(): Promise<BenchResult> {
  return withRoot(async (root) => {
    const { record } = await diskWithData(root, 1, false);
    const cpTarget = path.join(root, 'cp-copy.img');
    const cp = () => execFileSync('cp', ['--sparse=always', record.path, cpTarget]);
    // A disk's data is written through the loop device with direct I/O, so it is not in the host's page
    // cache when a snapshot is taken: each run, of both, starts with clean cached pages dropped (the
    // kernel's drop_caches; where that is not writable, dd's per-file hint, which may leave some).
    const dropCache = () => {
      execFileSync('sync');
      try {
        fs.writeFileSync('/proc/sys/vm/drop_caches', '1');
      } catch {
        execFileSync('dd', [`if=${record.path}`, 'iflag=nocache', 'count=0'], { stdio: 'ignore' });
      }
    };
    let second = 0;
    const times = await paired(
      5,
      async () => {
        const ctx = makeContext(root, {
          log: () => undefined,
          now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, second)),
        });
        second += 1;
        dropCache();
        const t = await timeIt(() => takeSnapshot(ctx, record, 'manual'));
        for (const snap of ctx.registry.list<{ path: string }>('snapshots'))
          fs.rmSync(snap.record.path, { force: true });
        return t;
      },
      async () => {
        dropCache();
        const t = await timeIt(cp);
        fs.rmSync(cpTarget);
        return t;
      },
    );
    return result(
      `snapshot of a 10 GB image with 1 GB of data vs cp --sparse=always (rounds, ms: ${times.rounds})`,
      times.measured,
      times.baseline,
      'ms',
      { max: 1.1 },
    );
  });
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

async function reflinkScaling(): Promise<BenchResult[]> {
  const times: Record<number, number> = {};
  let frozen = 0;
  let method = '';
  for (const gib of [1, 4]) {
    await onXfs(async (root) => {
      const { ctx, record } = await diskWithData(root, gib, true);
      const started = Date.now();
      const snap = await takeSnapshot(ctx, record, 'manual');
      times[gib] = Date.now() - started;
      frozen = Math.max(frozen, snap.frozenMs);
      method = snap.method;
      const { remove } = await import('../../provider/handlers/handler.js');
      await remove(mountHandler, ctx, mountHandler.validate(mountWire(root)));
    });
  }
  return [
    result(
      `snapshot on an xfs root (${method}), 4 GB vs 1 GB of data; freeze window up to ${frozen} ms`,
      times[4],
      times[1],
      'ms',
      { max: 2 },
    ),
  ];
}

export async function snapshotBench(): Promise<BenchResult[]> {
  return [await copyVsSnapshot(), ...(await reflinkScaling())];
}
