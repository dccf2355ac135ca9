/**
 * Storage created from a backup (`fromBackup`) on a fresh root standing for another host: the plan names the
 * backup it restores, the data comes back byte-identical and sparse, a storage with no backup yet starts empty
 * (and says so), and an unreadable repository, a missing backup id, a missing restic or a secret file others
 * can read are refused, at plan time where they can be, never turned into an empty disk.
 */
import { jest } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { directoryPath, imagePath } from '../../src/schema.js';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { snapshotLocation, takeSnapshot } from '../../provider/snapshots/snapshots.js';
import { pushSnapshot } from '../../provider/backup/push.js';
import { makePlan } from '../../provider/plan/plan.js';
import { REPOSITORIES, repositoryKey, repositoryRecord } from '../../provider/backup/records.js';
import { hostTest, hostWithCronDir, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { storageWire } from '../helpers/specs.js';
import { CLI, hoststore } from '../helpers/cli.js';
import { allocated, cutOff, fromBackupField, makeRepository, type TestRepository } from './flow-fixture.js';

jest.setTimeout(240_000);

const fx = hostWithCronDir();
let repo: TestRepository | undefined;
let other: HostFixture | undefined;
afterEach(() => {
  other?.cleanup();
  other = undefined;
  repo?.remove();
  repo = undefined;
});

/** On root A: disk `data` holding 24 MiB of random data, snapshotted and pushed; returns the snapshot. */
async function pushedDisk(r: TestRepository, mib = 24) {
  const ctx = makeContext(fx.host.root, { log: () => undefined, now: () => new Date('2026-11-20T12:00:00Z') });
  await converge(storageHandler, ctx, storageHandler.validate(storageWire(fx.host.root)));
  const target = fx.host.path('test-mnt');
  fs.mkdirSync(target);
  execFileSync('mount', ['-o', 'loop', imagePath(fx.host.root, 'disk', 'app', 'data'), target]);
  try {
    execFileSync('dd', ['if=/dev/urandom', `of=${target}/fill`, 'bs=1M', `count=${mib}`, 'status=none']);
  } finally {
    execFileSync('umount', [target]);
  }
  const snapshot = await takeSnapshot(ctx, ctx.registry.storage('disk', 'app', 'data')!, 'manual');
  await pushSnapshot(ctx, repositoryRecord('app', r.wire, ctx.now()), snapshot);
  return snapshot;
}

const fromBackupWire = (root: string, field: string, name = 'data') =>
  ({ ...storageWire(root, { name }), from_backup: field }) as unknown as Record<string, string>;
const fromBackupSpec = (root: string, field: string, name = 'data') =>
  storageHandler.validate(fromBackupWire(root, field, name));
const planOf = (wire: Record<string, string>) =>
  makePlan([{ stack: 'test', address: 'disk.data', kind: 'storage', spec: wire }]);

hostTest('restic')(
  'a fresh root plans the restore, then creates the disk from the newest backup: byte-identical and sparse',
  async () => {
    // GIVEN a backup of disk data pushed from root A
    repo = makeRepository();
    const snapshot = await pushedDisk(repo);
    const [backup] = repo.snapshots();
    // WHEN another root (another host) plans the same stack with fromBackup latest
    other = makeHostFixture();
    const spec = fromBackupSpec(other.root, fromBackupField(repo.wire));
    const plan = planOf(fromBackupWire(other.root, fromBackupField(repo.wire)));
    // THEN the plan's create names the backup it restores
    expect(plan.items[0]).toMatchObject({ action: 'create', safety: 'safe' });
    expect(plan.items[0].changes[0].to).toMatch(
      new RegExp(
        `^backup ${backup.short_id} of ${backup.time.slice(0, 19)}.* \\(snapshot ${snapshot.id}\\) from offsite$`,
      ),
    );
    // AND the space check counts the backup's data, not an empty disk's mkfs
    const { spaceNeeded } = await import('../../provider/plan/space-needed.js');
    const space = spaceNeeded(makeContext(other.root), plan.items);
    expect(space.parts).toEqual([expect.stringMatching(/^restore of backup [0-9a-f]{8} for disk data /)]);
    expect(space.bytes).toBeGreaterThanOrEqual(24 * 1024 ** 2);
    // WHEN it converges
    const lines: string[] = [];
    await converge(storageHandler, makeContext(other.root, { log: (l) => lines.push(l) }), spec);
    // THEN the image is the snapshot byte for byte, sparse, and recorded ready
    const restored = imagePath(other.root, 'disk', 'app', 'data');
    const source = snapshotLocation(fx.host.root, snapshot);
    execFileSync('cmp', [source, restored]);
    expect(allocated(restored)).toBeLessThanOrEqual(allocated(source) * 1.1 + 1024 ** 2);
    expect(makeContext(other.root).registry.storage('disk', 'app', 'data')).toMatchObject({
      state: 'ready',
      sizeGb: 1,
    });
    expect(lines.join('\n')).toMatch(new RegExp(`disk data: created from backup ${backup.short_id} of `));
    // AND the repository is recorded on this host, so `--repository offsite` finds it
    expect(makeContext(other.root).registry.get(REPOSITORIES, repositoryKey('app', 'offsite'))).toMatchObject({
      url: repo.url,
      passwordFile: repo.passwordFile,
    });
    // AND once it exists, fromBackup is ignored
    const again = storageHandler.diff(
      makeContext(other.root),
      spec,
      storageHandler.read(makeContext(other.root), spec),
    );
    expect(again.action).toBe('none');
  },
);

hostTest('restic')('no backup of that name yet: the storage is created empty and the log says so', async () => {
  repo = makeRepository();
  const lines: string[] = [];
  const ctx = makeContext(fx.host.root, { log: (l) => lines.push(l) });
  const spec = fromBackupSpec(fx.host.root, fromBackupField(repo.wire));
  expect(storageHandler.diff(ctx, spec, undefined).changes[0].to).toMatch(
    /^1 GB ext4, empty: no backup of disk data in offsite yet$/,
  );
  await converge(storageHandler, ctx, spec);
  expect(ctx.registry.storage('disk', 'app', 'data')?.state).toBe('ready');
  expect(lines.join('\n')).toMatch(
    /disk data: no backup of disk data in repository offsite \(.+\): created empty 1 GB ext4/,
  );
});

hostTest('restic')(
  'no repository there yet (a first deploy): the plan says so, and the storage starts empty',
  async () => {
    repo = makeRepository('offsite', false);
    const ctx = makeContext(fx.host.root, { log: () => undefined });
    const spec = fromBackupSpec(fx.host.root, fromBackupField(repo.wire));
    expect(storageHandler.diff(ctx, spec, undefined).changes[0]).toMatchObject({
      safety: 'safe',
      to: `1 GB ext4, empty: no repository at ${repo.url} yet (the first push makes it)`,
    });
    await converge(storageHandler, ctx, spec);
    expect(ctx.registry.storage('disk', 'app', 'data')?.state).toBe('ready');
  },
);

hostTest('restic')('an unreadable repository or a missing backup id is refused, never an empty disk', async () => {
  repo = makeRepository();
  const ctx = makeContext(fx.host.root, { log: () => undefined });
  const image = imagePath(fx.host.root, 'disk', 'app', 'data');
  // GIVEN the wrong password
  fs.writeFileSync(repo.passwordFile, 'wrong\n', { mode: 0o600 });
  const spec = fromBackupSpec(fx.host.root, fromBackupField(repo.wire));
  const planned = storageHandler.diff(ctx, spec, undefined);
  expect(planned.changes[0]).toMatchObject({ safety: 'refused', reason: expect.stringMatching(/wrong password/i) });
  await expect(converge(storageHandler, ctx, spec)).rejects.toThrow(/refused: .*wrong password/i);
  expect(fs.existsSync(image)).toBe(false);
  expect(ctx.registry.storage('disk', 'app', 'data')).toBeUndefined();
  // GIVEN the repository unreachable (its directory replaced by a file, as a lost mount would leave it)
  fs.writeFileSync(repo.passwordFile, 'correct horse battery staple\n', { mode: 0o600 });
  const reconnect = cutOff(repo);
  try {
    expect(storageHandler.diff(ctx, spec, undefined).changes[0]).toMatchObject({ safety: 'refused' });
    await expect(converge(storageHandler, ctx, spec)).rejects.toThrow(
      /refused: .*cannot read backup repository offsite/,
    );
    // Named once, not `disk data: disk data: ...` (review find).
    const message = await converge(storageHandler, ctx, spec).then(
      () => '',
      (error: Error) => error.message,
    );
    expect(message.match(/disk data\b/g)).toHaveLength(1);
    expect(fs.existsSync(image)).toBe(false);
    expect(ctx.registry.storage('disk', 'app', 'data')).toBeUndefined();
  } finally {
    reconnect();
  }
  // GIVEN the right password but a backup id the repository does not have
  fs.writeFileSync(repo.passwordFile, 'correct horse battery staple\n', { mode: 0o600 });
  const named = fromBackupSpec(fx.host.root, fromBackupField(repo.wire, 'deadbeef'));
  await expect(converge(storageHandler, ctx, named)).rejects.toThrow(
    /disk data: .*backup deadbeef .*not in repository offsite/,
  );
  expect(fs.existsSync(image)).toBe(false);
  expect(ctx.registry.storage('disk', 'app', 'data')).toBeUndefined();
});

hostTest('restic')(
  'the plan refuses a restore when restic is missing or a secret file is readable by others',
  async () => {
    repo = makeRepository();
    const wire = fromBackupWire(fx.host.root, fromBackupField(repo.wire));
    const PATH = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      expect(planOf(wire).items[0]).toMatchObject({
        safety: 'refused',
        changes: [
          expect.objectContaining({
            reason: expect.stringMatching(/restic is not installed on this host: install the Debian package restic/),
          }),
        ],
      });
    } finally {
      process.env.PATH = PATH;
    }
    fs.chmodSync(repo.passwordFile, 0o644);
    expect(planOf(wire).items[0]).toMatchObject({
      safety: 'refused',
      changes: [expect.objectContaining({ reason: expect.stringContaining(repo.passwordFile) })],
    });
    expect(fs.existsSync(imagePath(fx.host.root, 'disk', 'app', 'data'))).toBe(false);
  },
);

hostTest('restic')('a directory volume comes back from its backup with its files', async () => {
  // GIVEN directory volume uploads on root A with a few files, snapshotted and pushed
  repo = makeRepository();
  const wire = { kind: 'directory', name: 'uploads', size_gb: '', filesystem: '' } as const;
  const ctx = makeContext(fx.host.root, { log: () => undefined });
  await converge(storageHandler, ctx, storageHandler.validate(storageWire(fx.host.root, wire)));
  const source = directoryPath(fx.host.root, 'app', 'uploads');
  fs.mkdirSync(`${source}/img`);
  fs.writeFileSync(`${source}/img/a.bin`, Buffer.alloc(300_000, 7));
  fs.writeFileSync(`${source}/notes.txt`, 'kept\n');
  const snapshot = await takeSnapshot(ctx, ctx.registry.storage('directory', 'app', 'uploads')!, 'manual');
  await pushSnapshot(ctx, repositoryRecord('app', repo.wire, ctx.now()), snapshot);
  // WHEN root B declares it with fromBackup
  other = makeHostFixture();
  const spec = storageHandler.validate({
    ...storageWire(other.root, wire),
    from_backup: fromBackupField(repo.wire),
  } as unknown as Record<string, string>);
  await converge(storageHandler, makeContext(other.root, { log: () => undefined }), spec);
  // THEN the same files are there
  execFileSync('diff', ['-r', source, directoryPath(other.root, 'app', 'uploads')]);
  expect(makeContext(other.root).registry.storage('directory', 'app', 'uploads')?.state).toBe('ready');
});

hostTest('restic')(
  'kill -9 during a fromBackup create: the next converge cleans up and restores it whole',
  async () => {
    // GIVEN a backup of 96 MiB of data, and another root whose create reads it at 4 MB/s (a restic wrapper)
    repo = makeRepository();
    const snapshot = await pushedDisk(repo, 96);
    other = makeHostFixture();
    const bin = path.join(repo.dir, 'bin');
    fs.mkdirSync(bin, { mode: 0o755 });
    const real = execFileSync('sh', ['-c', 'command -v restic'], { encoding: 'utf8' }).trim();
    fs.writeFileSync(path.join(bin, 'restic'), `#!/bin/sh\nexec '${real}' --limit-download 4000 "$@"\n`, {
      mode: 0o755,
    });
    const wire = fromBackupWire(other.root, fromBackupField(repo.wire));
    const child = spawn(process.execPath, [CLI, 'handle', 'storage', 'converge'], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, HOSTSTORE_SPEC: JSON.stringify(wire) },
      detached: true,
      stdio: 'ignore',
    });
    const dir = path.dirname(imagePath(other.root, 'disk', 'app', 'data'));
    const partial = () =>
      fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.startsWith('.data.img.from-backup-')) : [];
    try {
      // WHEN it is killed while restic streams the image
      const started = Date.now();
      while (Date.now() - started < 120_000) {
        const written = partial().filter((n) => !n.endsWith('.fifo'));
        if (written.length && allocated(path.join(dir, written[0])) > 8 * 1024 ** 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(partial().length).toBeGreaterThan(0);
    } finally {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(makeContext(other.root).registry.storage('disk', 'app', 'data')?.state).toBe('creating');
    // THEN the next converge finishes the create from the backup, and leaves no partial file behind
    const result = hoststore(['handle', 'storage', 'converge'], wire);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    execFileSync('cmp', [snapshotLocation(fx.host.root, snapshot), imagePath(other.root, 'disk', 'app', 'data')]);
    expect(partial()).toEqual([]);
    expect(makeContext(other.root).registry.storage('disk', 'app', 'data')?.state).toBe('ready');
  },
);
