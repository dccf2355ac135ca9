/**
 * run-due with a replicated policy, against a real restic repository on a local path: the newest scheduled
 * snapshot is pushed after the root lock is released, remote retention follows, and a failed push (repository
 * unreachable, wrong password) keeps every local snapshot, is recorded, and is caught up by the next run.
 */
import { jest } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { imagePath } from '../../src/schema.js';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { snapshotPolicyHandler } from '../../provider/handlers/snapshot-policy.js';
import { listSnapshots } from '../../provider/snapshots/snapshots.js';
import { BACKUPS, pushKey, type PushRecord } from '../../provider/backup/records.js';
import { snapshotChecks } from '../../provider/plan/snapshot-checks.js';
import { hostTest, hostWithCronDir } from '../helpers/host-fixture.js';
import { storageWire } from '../helpers/specs.js';
import { hoststore } from '../helpers/cli.js';
import {
  cutOff,
  makeRepository,
  replicatedPolicyWire,
  resticDescendants,
  type TestRepository,
} from './flow-fixture.js';

jest.setTimeout(240_000);

const fx = hostWithCronDir();
let repo: TestRepository | undefined;
let cacheBefore: string[] = [];
const ROOT_CACHE = path.join(os.homedir(), '.cache', 'restic');
const listCache = () => (fs.existsSync(ROOT_CACHE) ? fs.readdirSync(ROOT_CACHE).sort() : []);

beforeEach(() => {
  cacheBefore = listCache();
});
afterEach(() => {
  repo?.remove();
  repo = undefined;
});

const ctxAt = (iso: string) => makeContext(fx.host.root, { log: () => undefined, now: () => new Date(iso) });
const runDueAt = (iso: string) => {
  const result = hoststore(['snapshot', 'run-due', '--json', '--root', fx.host.root], undefined, {
    HOSTSTORE_NOW: iso,
    HOSTSTORE_CRON_DIR: fx.cronDir,
  });
  return { ...result, report: JSON.parse(result.stdout || '{}') };
};
const pushRecord = () =>
  makeContext(fx.host.root).registry.get<PushRecord>(BACKUPS, pushKey('disk', 'app', 'data', 'offsite'));
const tagOf = (snapshot: { tags?: string[] }, tag: string) =>
  snapshot.tags?.find((t) => t.startsWith(`${tag}=`))?.slice(tag.length + 1);

/** A 1 GB ext4 disk `data` holding `mib` MiB of random data in `fill`, and a nightly policy replicated to `repo`. */
async function replicatedDisk(r: TestRepository, policy: Record<string, string> = {}, mib = 4): Promise<void> {
  const ctx = ctxAt('2026-11-20T12:00:00Z');
  await converge(storageHandler, ctx, storageHandler.validate(storageWire(fx.host.root)));
  writeRandom(mib);
  await converge(
    snapshotPolicyHandler,
    ctx,
    snapshotPolicyHandler.validate(replicatedPolicyWire(fx.host.root, r.wire, policy)) as never,
  );
}

/** Writes `mib` MiB of fresh random data into the disk's file `fill` (mounted just for that). */
function writeRandom(mib: number): void {
  const target = fx.host.path('test-mnt');
  fs.mkdirSync(target, { recursive: true });
  execFileSync('mount', ['-o', 'loop', imagePath(fx.host.root, 'disk', 'app', 'data'), target]);
  try {
    execFileSync('dd', ['if=/dev/urandom', `of=${target}/fill`, 'bs=1M', `count=${mib}`, 'status=none']);
  } finally {
    execFileSync('umount', [target]);
  }
}

hostTest('restic')('run-due pushes the newest scheduled snapshot once, then applies the remote retention', async () => {
  // GIVEN a disk and a nightly policy replicated to a repository that keeps 2 backups of it
  repo = makeRepository();
  await replicatedDisk(repo, { remote_retention_count: '2' });
  // WHEN run-due takes the first snapshot
  const first = runDueAt('2026-11-21T04:00:30Z');
  // THEN it pushes it, tagged with what it is
  expect(first.stderr).not.toMatch(/failed|error/i);
  expect(first.status).toBe(0);
  expect(first.report.taken).toHaveLength(1);
  const id = first.report.taken[0].id;
  expect(first.report.pushed).toEqual([
    expect.objectContaining({ storage: 'data', repository: 'offsite', snapshot: id }),
  ]);
  const backups = repo.snapshots();
  expect(backups).toHaveLength(1);
  expect(backups[0].tags).toEqual(
    expect.arrayContaining(['hoststore', 'hs-project=app', 'hs-storage=data', `hs-snapshot=${id}`]),
  );
  expect(pushRecord()).toMatchObject({ lastPushedSnapshot: id, lastBackupId: backups[0].id });
  expect(pushRecord()?.lastError).toBeUndefined();
  // WHEN run-due runs again in the same window THEN nothing new is pushed
  expect(runDueAt('2026-11-21T04:01:00Z').report.pushed).toEqual([]);
  expect(repo.snapshots()).toHaveLength(1);
  // WHEN two more nights pass THEN each newest snapshot is pushed and the repository keeps the newest 2
  writeRandom(1);
  expect(runDueAt('2026-11-22T04:00:30Z').report.pushed).toHaveLength(1);
  const third = runDueAt('2026-11-23T04:00:30Z');
  expect(third.report.pushed).toHaveLength(1);
  expect(third.report.forgotten).toEqual([backups[0].id]);
  const kept = repo
    .snapshots()
    .map((s) => tagOf(s, 'hs-snapshot'))
    .sort();
  expect(kept).toEqual(
    listSnapshots(ctxAt('2026-11-23T05:00:00Z'), 'data')
      .map((s) => s.id)
      .slice(1),
  );
  // the local retention (3) is the local one's: all three are still here
  expect(listSnapshots(ctxAt('2026-11-23T05:00:00Z'), 'data')).toHaveLength(3);
  // AND restic's cache is under the hoststore root, never root's own
  expect(listCache()).toEqual(cacheBefore);
  expect(repo.restic(['check'])).toMatch(/no errors were found/);
});

hostTest('restic')(
  'a push to an unreachable repository keeps the local snapshots, shows failing, and the next run catches up',
  async () => {
    // GIVEN a replicated disk whose first snapshot was pushed
    repo = makeRepository();
    await replicatedDisk(repo);
    expect(runDueAt('2026-11-21T04:00:30Z').report.pushed).toHaveLength(1);
    // WHEN the repository is unreachable at the next night's run
    const reconnect = cutOff(repo);
    const failed = runDueAt('2026-11-22T04:00:30Z');
    // THEN the snapshot is taken and kept, the push is reported failed in one line, and recorded
    expect(failed.report.taken).toHaveLength(1);
    expect(failed.report.pushed).toEqual([]);
    expect(failed.report.pushFailed).toEqual([
      expect.stringMatching(/^nightly of data to offsite: backup repository offsite \(.+\): /),
    ]);
    expect(failed.stderr).toMatch(/^hoststore: push failed: nightly of data to offsite: backup repository offsite/m);
    expect(failed.stderr).not.toMatch(/\n\s+at /);
    expect(failed.status).toBe(1);
    const newest = failed.report.taken[0].id;
    expect(listSnapshots(ctxAt('2026-11-22T05:00:00Z'), 'data')).toHaveLength(2);
    const record = pushRecord();
    expect(record?.lastError).toMatch(/^backup repository offsite/);
    expect(record?.lastError).not.toMatch(/\n/);
    expect(record?.lastPushedSnapshot).not.toBe(newest);
    // AND `backup status` says failing, with the error
    const status = hoststore(['backup', 'status', '--json', '--root', fx.host.root], undefined, {
      HOSTSTORE_NOW: '2026-11-22T05:00:00Z',
    });
    expect(JSON.parse(status.stdout)).toEqual([
      expect.objectContaining({ storage: 'data', repository: 'offsite', state: 'failing', error: record?.lastError }),
    ]);
    // AND the plan's checks say it is failing, with the error
    const checks = snapshotChecks(ctxAt('2026-11-22T05:00:00Z'), []);
    expect(checks).toContainEqual({
      level: 'warning',
      message: expect.stringMatching(
        /^backups of disk data to offsite are failing \(last attempt 2026-11-22T04:00:30\.000Z, last pushed 2026-11-21T04:00:3\d\.\d+Z\): backup repository offsite/,
      ),
    });
    // WHEN the repository is back and run-due runs again (nothing due) THEN it pushes the newest snapshot
    reconnect();
    const caughtUp = runDueAt('2026-11-22T04:01:30Z');
    expect(caughtUp.report.taken).toEqual([]);
    expect(caughtUp.report.pushed).toEqual([expect.objectContaining({ snapshot: newest })]);
    expect(pushRecord()).toMatchObject({ lastPushedSnapshot: newest });
    expect(pushRecord()?.lastError).toBeUndefined();
    expect(snapshotChecks(ctxAt('2026-11-22T05:00:00Z'), []).filter((c) => c.level !== 'info')).toEqual([]);
    expect(JSON.parse(hoststore(['backup', 'status', '--json', '--root', fx.host.root]).stdout)).toEqual([
      expect.objectContaining({ state: 'in-sync', lastPushedSnapshot: newest }),
    ]);
  },
);

hostTest('restic')('a wrong password fails the push in one line and keeps the snapshot', async () => {
  repo = makeRepository();
  await replicatedDisk(repo);
  fs.writeFileSync(repo.passwordFile, 'not the password\n', { mode: 0o600 });
  const run = runDueAt('2026-11-21T04:00:30Z');
  expect(run.report.taken).toHaveLength(1);
  expect(run.report.pushFailed).toEqual([expect.stringMatching(/wrong password/i)]);
  expect(run.stderr).not.toMatch(/not the password/);
  expect(listSnapshots(ctxAt('2026-11-21T05:00:00Z'), 'data')).toHaveLength(1);
  expect(pushRecord()?.lastError).toMatch(/wrong password/i);
  // the repository was not re-initialized over it, nor touched
  expect(fs.readdirSync(path.join(repo.url, 'snapshots'))).toEqual([]);
  // AND without restic on the host the plan says so, naming the package
  const PATH = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    expect(snapshotChecks(ctxAt('2026-11-21T05:00:00Z'), [])).toContainEqual({
      level: 'warning',
      message: expect.stringMatching(
        /^backups from \S+ cannot be pushed or restored: restic is not installed on this host: install the Debian package restic/,
      ),
    });
  } finally {
    process.env.PATH = PATH;
  }
});

hostTest('restic')(
  'kill -9 during a push: a second run-due meanwhile neither waits nor pushes it again; a rerun pushes and prunes',
  async () => {
    // GIVEN a replicated disk (the repository keeps 1 backup) whose first, small snapshot is pushed
    repo = makeRepository();
    await replicatedDisk(repo, { remote_retention_count: '1' }, 1);
    expect(runDueAt('2026-11-21T04:00:30Z').report.pushed).toHaveLength(1);
    // AND data whose push takes a while: restic limited to 5 MB/s (a wrapper first in this run's PATH)
    writeRandom(200);
    const bin = path.join(repo.dir, 'bin');
    fs.mkdirSync(bin, { mode: 0o755 });
    const real = execFileSync('sh', ['-c', 'command -v restic'], { encoding: 'utf8' }).trim();
    fs.writeFileSync(path.join(bin, 'restic'), `#!/bin/sh\nexec '${real}' --limit-upload 5000 "$@"\n`, { mode: 0o755 });
    // WHEN the next night's run-due is pushing
    const child = spawn(
      process.execPath,
      [path.resolve('dist/provider/cli.js'), 'snapshot', 'run-due', '--json', '--root', fx.host.root],
      {
        env: {
          ...process.env,
          PATH: `${bin}:${process.env.PATH}`,
          HOSTSTORE_NOW: '2026-11-22T04:00:30Z',
          HOSTSTORE_CRON_DIR: fx.cronDir,
        },
        detached: true,
        stdio: 'ignore',
      },
    );
    try {
      const started = Date.now();
      let pushing: number[] = [];
      while (Date.now() - started < 120_000) {
        pushing = resticDescendants(child.pid as number).filter((pid) =>
          fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('backup'),
        );
        // Mid-push: restic runs and holds its lock in the repository.
        if (pushing.length && fs.readdirSync(path.join(repo.url, 'locks')).length) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(pushing).toHaveLength(1);
      // THEN another run-due meanwhile returns at once: the root lock is free, the push is the other's
      const t0 = Date.now();
      const meanwhile = runDueAt('2026-11-22T04:00:40Z');
      expect(Date.now() - t0).toBeLessThan(30_000);
      expect(meanwhile.report.taken).toEqual([]);
      expect(meanwhile.report.pushed).toEqual([]);
      expect(meanwhile.report.skipped).toMatch(/another push runs/);
      expect(resticDescendants(child.pid as number)).toEqual(pushing);
      // WHEN the first is killed mid-push (it and its restic, as a crash would)
      process.kill(-(child.pid as number), 'SIGKILL');
    } finally {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(fs.readdirSync(path.join(repo.url, 'locks')).length).toBeGreaterThan(0);
    // THEN a rerun pushes the newest snapshot, forgets the older backup and prunes despite the stale lock
    const rerun = runDueAt('2026-11-22T04:02:00Z');
    expect(rerun.stderr).not.toMatch(/failed|error/i);
    const newest = listSnapshots(ctxAt('2026-11-22T05:00:00Z'), 'data').at(-1)!.id;
    expect(rerun.report.pushed).toEqual([expect.objectContaining({ snapshot: newest })]);
    expect(rerun.report.forgotten).toHaveLength(1);
    expect(repo.snapshots().map((s) => tagOf(s, 'hs-snapshot'))).toEqual([newest]);
    expect(fs.readdirSync(path.join(repo.url, 'locks'))).toEqual([]);
    expect(repo.restic(['check'])).toMatch(/no errors were found/);
  },
);

hostTest('restic')(
  'a replicated storage whose newest snapshot waits unpushed over two schedule periods shows as behind',
  async () => {
    // GIVEN pushes held off by another push that holds the backup lock (this live test process)
    repo = makeRepository();
    await replicatedDisk(repo);
    const lock = fx.host.path('registry', 'backup.lock');
    fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, holder: 'a test', since: new Date().toISOString() }), {
      mode: 0o600,
    });
    // WHEN run-due takes the night's snapshot THEN it does not wait for the lock, and pushes nothing
    const run = runDueAt('2026-11-21T04:00:30Z');
    expect(run.report.taken).toHaveLength(1);
    expect(run.report.pushed).toEqual([]);
    expect(run.report.skipped).toMatch(/another push runs .*a test/);
    expect(run.status).toBe(0);
    // THEN the plan says nothing within two periods of the schedule, and `behind` after that
    const behind = (iso: string) =>
      snapshotChecks(ctxAt(iso), [])
        .filter((c) => c.level !== 'info')
        .map((c) => c.message);
    expect(behind('2026-11-23T04:00:00Z')).toEqual([]);
    expect(behind('2026-11-23T05:00:00Z')).toEqual([
      expect.stringMatching(
        /^backups of disk data to offsite are behind: snapshot data\.20261121T040030Z\.disk is not pushed, nothing pushed yet, the first snapshot is 49 h old, more than two periods of '0 4 \* \* \*'/,
      ),
    ]);
    fs.rmSync(lock);
  },
);

hostTest('restic')(
  'remote retention by age counts from when each snapshot was taken (the clock run-due reads)',
  async () => {
    // GIVEN a repository that keeps a day of backups
    repo = makeRepository();
    await replicatedDisk(repo, { remote_retention_days: '1' });
    // WHEN three nightly runs push (the last one printed as text)
    expect(runDueAt('2026-11-21T04:00:30Z').report.pushed).toHaveLength(1);
    expect(runDueAt('2026-11-22T04:00:30Z').report.forgotten).toEqual([]);
    const text = hoststore(['snapshot', 'run-due', '--root', fx.host.root], undefined, {
      HOSTSTORE_NOW: '2026-11-23T04:00:30Z',
      HOSTSTORE_CRON_DIR: fx.cronDir,
    });
    // THEN the backup older than a day is forgotten, the one exactly a day old stays
    expect(text.stdout).toMatch(
      /^run-due: 1 pushed data\.20261123T040030Z\.disk to offsite as [0-9a-f]{8}, 1 forgotten in the repositories$/m,
    );
    expect(
      repo
        .snapshots()
        .map((s) => tagOf(s, 'hs-snapshot'))
        .sort(),
    ).toEqual(['data.20261122T040030Z.disk', 'data.20261123T040030Z.disk']);
  },
);
