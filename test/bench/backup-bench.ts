/**
 * Off-host backup benchmarks (`npm run bench -- backup [rounds]`): a 10 GB ext4 disk holding 2 GB of random data
 * in four files (so in a few regions of the image), snapshotted, then against restic run by hand on the same
 * snapshot file, each side into fresh repositories of its own, interleaved rounds (order rotating), every round
 * printed: the first push; the second push after 64 MiB changed (time, and the repository's growth vs the change);
 * the restore into new storage (time, and its allocated bytes vs the data) vs `restic restore`.
 * The hoststore side runs the CLI as a user does (`hoststore backup push|restore NAME --repository R`), each of its
 * repositories recorded on the root as a deploy of a replicated policy records it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { takeSnapshot } from '../../provider/snapshots/snapshots.js';
import { REPOSITORIES, repositoryKey, repositoryRecord } from '../../provider/backup/records.js';
import { localRepository, type ResticRepositoryFixture } from '../helpers/restic.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { withRoot } from './host-bench.js';
import { interleaved, result, timeIt, type BenchResult, type JobTimes } from './measure.js';

/** The CLI beside this module once built (dist/test/bench -> dist/provider). */
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../provider/cli.js');
const MiB = 1024 * 1024;
const DATA_FILES = 4;
const FILE_MiB = 512;
const CHANGE_MiB = 64;

function hoststore(args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The name each of hoststore's repositories is recorded under (`bench-0`, `bench-1`, ...). */
const names = new Map<ResticRepositoryFixture, string>();
const recordedName = (repo: ResticRepositoryFixture) => {
  if (!names.has(repo)) names.set(repo, `bench-${names.size}`);
  return names.get(repo)!;
};
const repositoryArgs = (repo: ResticRepositoryFixture) => ['--repository', recordedName(repo)];
const allocated = (file: string) => fs.statSync(file).blocks * 512;
const rounds = (t: JobTimes) => t.times.map((ms) => ms.toFixed(0)).join(' ');
const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;

/** A 10 GB disk `data` in project `app` with 2 GB of random data, unmounted after; returns its snapshot file. */
async function diskWithSnapshot(root: string) {
  const ctx = makeContext(root, { log: () => undefined });
  await converge(storageHandler, ctx, storageHandler.validate(storageWire(root, { size_gb: '10' })));
  await converge(mountHandler, ctx, mountHandler.validate(mountWire(root)));
  const dir = mountWire(root).host_path;
  for (let i = 0; i < DATA_FILES; i += 1)
    execFileSync('dd', ['if=/dev/urandom', `of=${dir}/data-${i}`, 'bs=1M', `count=${FILE_MiB}`, 'conv=fsync'], {
      stdio: 'ignore',
    });
  const record = ctx.registry.storage('disk', 'app', 'data')!;
  const first = await takeSnapshot(ctx, record, 'manual', undefined, { maxFreezeSeconds: 120 });
  // The change between the two pushes: 64 MiB overwritten in the middle of one file.
  const change = () =>
    execFileSync(
      'dd',
      ['if=/dev/urandom', `of=${dir}/data-1`, 'bs=1M', `count=${CHANGE_MiB}`, 'seek=200', 'conv=notrunc,fsync'],
      { stdio: 'ignore' },
    );
  const second = async () =>
    takeSnapshot(
      makeContext(root, { log: () => undefined, now: () => new Date(Date.now() + 60_000) }),
      record,
      'manual',
      undefined,
      { maxFreezeSeconds: 120 },
    );
  return { first, change, second };
}

export async function backupBench(roundsArg?: string): Promise<BenchResult[]> {
  const n = Math.max(1, Number(roundsArg ?? 2) || 2);
  return withRoot(async (root) => {
    const made: ResticRepositoryFixture[] = [];
    const fresh = () => {
      const repo = localRepository({ prefix: 'hoststore-bench-restic-', init: true });
      made.push(repo);
      return repo;
    };
    try {
      const disk = await diskWithSnapshot(root);
      const ours = Array.from({ length: n }, fresh);
      const registry = makeContext(root).registry;
      for (const repo of ours)
        registry.put(
          REPOSITORIES,
          repositoryKey('app', recordedName(repo)),
          repositoryRecord('app', repo.wire(recordedName(repo)), new Date()),
        );
      const theirs = Array.from({ length: n }, fresh);
      const counter = () => {
        let i = 0;
        return () => i++;
      };

      // First push: the snapshot file, 10 GB nominal, 2 GB of data, into empty repositories.
      const firstFile = disk.first.path;
      const [h1, r1] = await pushRound(n, ours, theirs, firstFile, counter);
      const size1 = ours.map((r) => r.sizeBytes());
      const sizeTheirs1 = theirs.map((r) => r.sizeBytes());

      // Second push after 64 MiB changed: the new snapshot into the same repositories.
      disk.change();
      const second = await disk.second();
      const [h2, r2] = await pushRound(n, ours, theirs, second.path, counter);
      const growth = ours.map((r, i) => r.sizeBytes() - size1[i]);
      const growthTheirs = theirs.map((r, i) => r.sizeBytes() - sizeTheirs1[i]);
      const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

      // Restore of the second backup: into new storage, vs restic's own restore of the file.
      const restoredAllocated: number[] = [];
      const nextOurs = counter();
      const nextTheirs = counter();
      const [hr, rr] = await interleaved(n, [
        {
          name: 'hoststore backup restore',
          run: async () => {
            const i = nextOurs();
            const id = latestBackupId(ours[i]);
            const name = `restored-${i}`;
            const ms = await timeIt(() =>
              hoststore(['backup', 'restore', id, '--to', name, '--root', root, ...repositoryArgs(ours[i])]),
            );
            const ctx = makeContext(root, { log: () => undefined });
            const restored = ctx.registry.storage('disk', 'app', name) ?? ctx.registry.storage('volume', 'app', name);
            if (!restored) throw new Error(`backup restore made no storage ${name}`);
            restoredAllocated.push(allocated(restored.path));
            // Room for the next round: the restored image is not needed after its size is read.
            hoststore(['delete', name, '--root', root, '--yes']);
            return ms;
          },
        },
        {
          name: 'restic restore by hand',
          run: async () => {
            const i = nextTheirs();
            const target = path.join(theirs[i].dir, 'restored');
            const ms = await timeIt(() => theirs[i].restic(['restore', 'latest', '--target', target]));
            fs.rmSync(target, { recursive: true, force: true });
            return ms;
          },
        },
      ]);
      const snapshotAllocated = allocated(second.path);

      return [
        result(
          `first push of a 10 GB image holding 2 GB (snapshot file), hoststore backup push vs restic backup by hand (rounds ms: ${rounds(h1)} / ${rounds(r1)})`,
          h1.median,
          r1.median,
          'ms',
          { max: 1.2 },
        ),
        result(
          `second push after ${CHANGE_MiB} MiB changed: repository growth vs the change (growth per round: ${growth.map((g) => (g / MiB).toFixed(1)).join(' ')} MiB; restic by hand: ${growthTheirs.map((g) => (g / MiB).toFixed(1)).join(' ')} MiB)`,
          mid(growth) / MiB,
          CHANGE_MiB,
          'MiB',
          { max: 2 },
        ),
        result(
          `second push after ${CHANGE_MiB} MiB changed, hoststore vs restic backup by hand (rounds ms: ${rounds(h2)} / ${rounds(r2)})`,
          h2.median,
          r2.median,
          'ms',
          { max: 1.2 },
        ),
        result(
          `restore into new storage, hoststore backup restore vs restic restore by hand (rounds ms: ${rounds(hr)} / ${rounds(rr)})`,
          hr.median,
          rr.median,
          'ms',
          { max: 1.2 },
        ),
        result(
          `restored image's allocated bytes vs the snapshot's (per round: ${restoredAllocated.map(gib).join(' ')}; snapshot ${gib(snapshotAllocated)}, data written ${gib(DATA_FILES * FILE_MiB * MiB)})`,
          mid(restoredAllocated) / MiB,
          snapshotAllocated / MiB,
          'MiB',
          { max: 1.1 },
        ),
      ];
    } finally {
      for (const repo of made) repo.cleanup();
    }
  });
}

/** One interleaved round of pushes of `file`: hoststore into `ours[i]`, restic by hand into `theirs[i]`. */
async function pushRound(
  n: number,
  ours: ResticRepositoryFixture[],
  theirs: ResticRepositoryFixture[],
  file: string,
  counter: () => () => number,
): Promise<JobTimes[]> {
  const nextOurs = counter();
  const nextTheirs = counter();
  return interleaved(n, [
    {
      name: 'hoststore backup push',
      run: () => {
        const repo = ours[nextOurs()];
        return timeIt(() => hoststore(['backup', 'push', 'data', '--root', rootOf(file), ...repositoryArgs(repo)]));
      },
    },
    {
      name: 'restic backup by hand',
      run: () => {
        const repo = theirs[nextTheirs()];
        return timeIt(() => repo.restic(['backup', '--quiet', file]));
      },
    },
  ]);
}

/** The hoststore root a snapshot file is under (`<root>/snapshots/...`). */
function rootOf(file: string): string {
  const at = file.indexOf('/snapshots/');
  if (at < 0) throw new Error(`${file} is not under a root's snapshots/`);
  return file.slice(0, at);
}

function latestBackupId(repo: ResticRepositoryFixture): string {
  const snapshots = repo.snapshots();
  if (snapshots.length === 0) throw new Error(`no backup in ${repo.url}`);
  return snapshots[snapshots.length - 1].id;
}
