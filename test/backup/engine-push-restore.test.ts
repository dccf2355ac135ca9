/**
 * The backup engine against real restic 0.14 and a repository on a local path: push, push again after a
 * change (only the change added), restore onto another root (byte-identical, sparse), remote retention,
 * directories, failures as one line, and secrets that reach neither argv nor root's own restic cache.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { imagePath } from '../../src/schema.js';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { snapshotLocation, takeSnapshot, type SnapshotRecord } from '../../provider/snapshots/snapshots.js';
import { pushSnapshot } from '../../provider/backup/push.js';
import { backupTags, findBackup, listBackups } from '../../provider/backup/backups.js';
import { restoreBackupTo } from '../../provider/backup/restore.js';
import { applyRemoteRetention } from '../../provider/backup/retention.js';
import { backupStatus } from '../../provider/backup/status.js';
import { BackupError } from '../../provider/backup/restic.js';
import { BACKUPS, pushKey, type PushRecord } from '../../provider/backup/records.js';
import { RefusedError } from '../../provider/errors.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { storageWire } from '../helpers/specs.js';
import {
  PASSWORD,
  allocatedBytes,
  makeEngineRepository,
  rootResticCache,
  writeRandom,
  writeSecret,
  type EngineRepository,
} from './engine-fixture.js';

const MiB = 1 << 20;
let host: HostFixture;
let repo: EngineRepository;
const made: Array<{ cleanup(): void } | { remove(): void }> = [];
beforeEach(() => {
  host = makeHostFixture();
  repo = makeEngineRepository();
});
afterEach(() => {
  host.cleanup();
  repo.remove();
  for (const m of made.splice(0)) {
    if ('cleanup' in m) m.cleanup();
    else m.remove();
  }
});

const ctx = (root = host.root) => makeContext(root, { log: () => undefined });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function disk(name = 'data'): Promise<string> {
  await converge(storageHandler, ctx(), storageHandler.validate(storageWire(host.root, { name })));
  return imagePath(host.root, 'disk', 'app', name);
}

async function snapshotOf(name = 'data', kind: 'disk' | 'directory' = 'disk'): Promise<SnapshotRecord> {
  const c = ctx();
  const record = c.registry.storage(kind, 'app', name);
  if (!record) throw new Error(`no storage ${name}`);
  // Snapshot ids are per second.
  await sleep(1100);
  return takeSnapshot(c, record, 'manual');
}

const hasRestic = () => {
  try {
    execFileSync('restic', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
};
const resticTest = (name: string, fn: () => Promise<void>, timeout = 180_000) =>
  (hasRestic() ? hostTest() : test.skip)(name, fn, timeout);

resticTest(
  'push, change 64 MiB, push again: only the change is added; restored on another root byte-identical and sparse',
  async () => {
    // GIVEN a 1 GiB disk holding 32 MiB of data, and a repository that does not exist yet
    const image = await disk();
    writeRandom(image, 256 * MiB, 32 * MiB);
    const cacheBefore = rootResticCache();
    const first = await snapshotOf();
    // WHEN it is pushed
    const pushed = await pushSnapshot(ctx(), repo.record, first);
    // THEN the repository was made and holds the snapshot, tagged
    expect(pushed.initialised).toBe(true);
    expect(pushed.backup).toMatchObject({
      kind: 'disk',
      project: 'app',
      storage: 'data',
      snapshot: first.id,
      sha256: first.sha256,
      size: 1024 * MiB,
      path: snapshotLocation(host.root, first),
    });
    expect(pushed.bytesAdded).toBeGreaterThan(30 * MiB);
    // WHEN 64 MiB change and it is pushed again
    writeRandom(image, 600 * MiB, 64 * MiB);
    const second = await snapshotOf();
    const again = await pushSnapshot(ctx(), repo.record, second);
    // THEN what restic added is the change, not the image (at most twice the change)
    expect(again.initialised).toBe(false);
    expect(again.bytesAdded).toBeGreaterThan(60 * MiB);
    expect(again.bytesAdded).toBeLessThanOrEqual(2 * 64 * MiB);
    const record = ctx().registry.get<PushRecord>(BACKUPS, pushKey('disk', 'app', 'data', 'offsite'));
    expect(record).toMatchObject({
      lastPushedSnapshot: second.id,
      lastPushedSnapshotAt: second.createdAt,
      lastBackupId: again.backup.id,
      bytesAdded: again.bytesAdded,
      url: repo.url,
    });
    expect(record?.lastError).toBeUndefined();
    expect(backupStatus(ctx())).toEqual([
      expect.objectContaining({ storage: 'data', repository: 'offsite', state: 'in-sync', lagSeconds: 0 }),
    ]);
    // WHEN another root (another host) restores the newest backup
    const other = makeHostFixture();
    made.push(other);
    const entry = await findBackup(
      ctx(other.root),
      repo.record,
      { kind: 'disk', project: 'app', storage: 'data' },
      'latest',
    );
    expect(entry?.id).toBe(again.backup.id);
    const target = imagePath(other.root, 'disk', 'app', 'data');
    await restoreBackupTo(ctx(other.root), repo.record, entry!, target);
    // THEN it is the snapshot byte for byte, and allocates what the data takes, not the nominal size
    execFileSync('cmp', [target, snapshotLocation(host.root, second)]);
    expect(allocatedBytes(target)).toBeLessThanOrEqual(1.1 * allocatedBytes(snapshotLocation(host.root, second)));
    expect(fs.readdirSync(path.dirname(target))).toEqual(['data.img']);
    // AND it never writes over existing storage
    await expect(restoreBackupTo(ctx(other.root), repo.record, entry!, target)).rejects.toThrow(RefusedError);
    // AND restic's cache is under the root, never root's own
    expect(fs.statSync(path.join(host.root, 'cache', 'restic')).mode & 0o777).toBe(0o700);
    expect(rootResticCache()).toEqual(cacheBefore);
  },
);

resticTest(
  'a wrong password is one line naming the repository; the failure is recorded, the last success kept',
  async () => {
    await disk();
    const first = await snapshotOf();
    await pushSnapshot(ctx(), repo.record, first);
    const wrong = path.join(repo.dir, 'secret', 'wrong');
    writeSecret(wrong, 'not the password\n');
    const second = await snapshotOf();
    const failed = pushSnapshot(ctx(), { ...repo.record, passwordFile: wrong }, second);
    await expect(failed).rejects.toThrow(BackupError);
    const error = (await failed.catch((e: unknown) => e)) as BackupError;
    expect(error.failure).toBe('wrong-password');
    expect(error.message).toBe(
      `backup repository offsite (${repo.url}): wrong password (no key of the repository opens with it); put the password this repository was made with in the password file, or point passwordFile at the right file`,
    );
    expect(error.message).not.toContain('\n');
    const record = ctx().registry.get<PushRecord>(BACKUPS, pushKey('disk', 'app', 'data', 'offsite'));
    expect(record).toMatchObject({ lastPushedSnapshot: first.id, lastError: error.message });
    expect(backupStatus(ctx())).toEqual([
      expect.objectContaining({ state: 'failing', error: error.message, lastPushedSnapshot: first.id }),
    ]);
    // AND a restore with it fails the same way, leaving nothing behind
    const entry = await findBackup(ctx(), repo.record, { kind: 'disk', project: 'app', storage: 'data' }, 'latest');
    const other = makeHostFixture();
    made.push(other);
    const target = imagePath(other.root, 'disk', 'app', 'data');
    const wrongRepo = { ...repo.record, passwordFile: wrong };
    const restoreError = (await restoreBackupTo(ctx(other.root), wrongRepo, entry!, target).catch(
      (e: unknown) => e,
    )) as BackupError;
    expect(restoreError).toBeInstanceOf(BackupError);
    expect(restoreError.failure).toBe('wrong-password');
    expect(fs.readdirSync(path.dirname(target))).toEqual([]);
    // AND a later success clears it
    await pushSnapshot(ctx(), repo.record, second);
    expect(backupStatus(ctx())).toEqual([expect.objectContaining({ state: 'in-sync', lastPushedSnapshot: second.id })]);
  },
);

resticTest(
  'an environment file that sets RESTIC_PASSWORD is refused in one line, before restic runs, its value never shown',
  async () => {
    const withEnv = makeEngineRepository({
      environment: '# credentials\nAWS_ACCESS_KEY_ID=AKIAEXAMPLE\nRESTIC_PASSWORD="hunter2-secret"\n',
    });
    made.push(withEnv);
    await disk();
    const snap = await snapshotOf();
    const error = (await pushSnapshot(ctx(), withEnv.record, snap).catch((e: unknown) => e)) as BackupError;
    expect(error).toBeInstanceOf(BackupError);
    expect(error.message).toMatch(
      new RegExp(
        `^environment file ${withEnv.record.environmentFile} line 3: RESTIC_PASSWORD may not be set there: .*; remove that line$`,
      ),
    );
    expect(error.message).not.toContain('hunter2');
    expect(fs.existsSync(withEnv.url)).toBe(false);
  },
);

resticTest('secrets reach restic through the environment: argv holds no password, URL or credential', async () => {
  // GIVEN restic wrapped by a logger of its argv first on PATH, and a repository with an environment file
  const withEnv = makeEngineRepository({ environment: 'AWS_SECRET_ACCESS_KEY=topsecret-value-123\n' });
  made.push(withEnv);
  const wrap = path.join(withEnv.dir, 'bin');
  fs.mkdirSync(wrap, { mode: 0o700 });
  const log = path.join(withEnv.dir, 'argv.log');
  const real = execFileSync('sh', ['-c', 'command -v restic'], { encoding: 'utf8' }).trim();
  fs.writeFileSync(
    path.join(wrap, 'restic'),
    `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> ${log}; done\n[ -n "$AWS_SECRET_ACCESS_KEY" ] && echo ENV-SEEN >> ${log}\nexec ${real} "$@"\n`,
    { mode: 0o700 },
  );
  const savedPath = process.env.PATH;
  process.env.PATH = `${wrap}:${savedPath}`;
  try {
    await disk();
    const snap = await snapshotOf();
    await pushSnapshot(ctx(), withEnv.record, snap);
    await listBackups(ctx(), withEnv.record);
  } finally {
    process.env.PATH = savedPath;
  }
  // THEN restic ran (backup, snapshots) with the credential in its environment, and none of it in argv
  const argv = fs.readFileSync(log, 'utf8');
  expect(argv).toContain('backup');
  expect(argv).toContain('ENV-SEEN');
  for (const secret of [PASSWORD, 'topsecret-value-123', withEnv.url, withEnv.passwordFile])
    expect(argv).not.toContain(secret);
});

resticTest('remote retention forgets what the rules let go, never the newest, and prunes', async () => {
  await disk();
  const snaps: SnapshotRecord[] = [];
  for (let i = 0; i < 3; i++) {
    snaps.push(await snapshotOf());
    await pushSnapshot(ctx(), repo.record, snaps[i]);
  }
  const which = { kind: 'disk' as const, project: 'app', storage: 'data' };
  const result = await applyRemoteRetention(ctx(), repo.record, which, { count: 1 });
  expect(result.forgotten.map((e) => e.snapshot)).toEqual([snaps[1].id, snaps[0].id]);
  expect(result.pruned).toBe(true);
  expect((await listBackups(ctx(), repo.record, which)).map((e) => e.snapshot)).toEqual([snaps[2].id]);
  // A clock far ahead makes everything old: the newest stays.
  const later = makeContext(host.root, { log: () => undefined, now: () => new Date(Date.now() + 1000 * 86_400_000) });
  expect((await applyRemoteRetention(later, repo.record, which, { days: 1 })).forgotten).toEqual([]);
});

resticTest(
  "remote retention thins this host's backups only: another host's of the same name stay (attack review find)",
  async () => {
    await disk();
    const snaps: SnapshotRecord[] = [];
    for (let i = 0; i < 2; i++) {
      snaps.push(await snapshotOf());
      await pushSnapshot(ctx(), repo.record, snaps[i]);
    }
    // GIVEN another host's backup of a storage of the same kind, project and name, in the same repository, older
    const theirs = snaps[0];
    const tags = backupTags({
      kind: 'disk',
      project: 'app',
      storage: 'data',
      snapshot: theirs.id,
      sha256: theirs.sha256,
      checksumMethod: theirs.checksumMethod ?? 'full',
      size: fs.statSync(snapshotLocation(host.root, theirs)).size,
    });
    repo.restic([
      'backup',
      '--host',
      'another-host',
      '--time',
      '2020-01-01 00:00:00',
      ...tags.flatMap((t) => ['--tag', t]),
      snapshotLocation(host.root, theirs),
    ]);
    const which = { kind: 'disk' as const, project: 'app', storage: 'data' };
    const result = await applyRemoteRetention(ctx(), repo.record, which, { count: 1 });
    // THEN only this host's older backup went; the other host's (older still) stays
    expect(result.forgotten.map((e) => e.host)).toEqual([os.hostname()]);
    expect((await listBackups(ctx(), repo.record, which)).map((e) => e.host).sort()).toEqual(
      ['another-host', os.hostname()].sort(),
    );
  },
);

resticTest('a directory volume is pushed and restored as a tree with the same checksum', async () => {
  await converge(
    storageHandler,
    ctx(),
    storageHandler.validate(
      storageWire(host.root, { kind: 'directory', name: 'files', size_gb: '', filesystem: '' } as never),
    ),
  );
  const dir = path.join(host.root, 'projects', 'app', 'directories', 'files');
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'a.txt'), 'hello\n');
  fs.writeFileSync(path.join(dir, 'b.bin'), Buffer.alloc(3 * MiB, 7));
  const snap = await snapshotOf('files', 'directory');
  const pushed = await pushSnapshot(ctx(), repo.record, snap);
  expect(pushed.backup).toMatchObject({ kind: 'directory', storage: 'files', size: 0 });
  const other = makeHostFixture();
  made.push(other);
  const target = path.join(other.root, 'projects', 'app', 'directories', 'files');
  await restoreBackupTo(ctx(other.root), repo.record, pushed.backup, target);
  expect(fs.readFileSync(path.join(target, 'sub', 'a.txt'), 'utf8')).toBe('hello\n');
  execFileSync('diff', ['-r', target, snapshotLocation(host.root, snap)]);
  expect(fs.readdirSync(path.dirname(target))).toEqual(['files']);
  fs.writeFileSync(path.join(target, 'sub', 'a.txt'), 'written again\n');
});

resticTest('findBackup: no repository at the path is "no backup"; a path that cannot be read throws', async () => {
  const which = { kind: 'disk' as const, project: 'app', storage: 'data' };
  expect(await findBackup(ctx(), repo.record, which, 'latest')).toBeUndefined();
  // A file where the repository's directory should be (a lost mount, a mistake): unreadable, not empty.
  fs.writeFileSync(path.join(repo.dir, 'blocked'), 'x');
  const blocked = { ...repo.record, url: path.join(repo.dir, 'blocked', 'repo') };
  const error = (await findBackup(ctx(), blocked, which, 'latest').catch((e: unknown) => e)) as BackupError;
  expect(error).toBeInstanceOf(BackupError);
  expect(error.failure).not.toBe('no-repository');
  expect(error.message).toMatch(/^backup repository offsite \(.*\/blocked\/repo\): .*not a directory/);
});

resticTest(
  'a snapshot pruned before its push: the failure is recorded in one line, the next push sends a newer one',
  async () => {
    await disk();
    const old = await snapshotOf();
    fs.chmodSync(path.dirname(snapshotLocation(host.root, old)), 0o700);
    fs.rmSync(snapshotLocation(host.root, old), { force: true });
    const error = (await pushSnapshot(ctx(), repo.record, old).catch((e: unknown) => e)) as BackupError;
    expect(error).toBeInstanceOf(BackupError);
    expect(error.message).toBe(
      `backup repository offsite (${repo.url}): snapshot ${old.id} of disk data is gone (pruned or deleted) before it was pushed; the next run pushes the newest one`,
    );
    expect(backupStatus(ctx())).toEqual([expect.objectContaining({ state: 'failing', error: error.message })]);
    const newer = await snapshotOf();
    await pushSnapshot(ctx(), repo.record, newer);
    expect(backupStatus(ctx())).toEqual([expect.objectContaining({ state: 'in-sync', lastPushedSnapshot: newer.id })]);
  },
);
