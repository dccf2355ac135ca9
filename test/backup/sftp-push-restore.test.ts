/**
 * Off-host backups over SFTP, against a real sshd on loopback (its host key pinned by the test's own ssh config,
 * passed as the repository's `sftp.command`; never root's ~/.ssh): a replicated disk is pushed (the first push
 * makes the repository), listed, and restored onto another root standing for another host, byte-identical to
 * the snapshot and sparse; with the server unreachable a push fails in one line and is caught up later, and a
 * fromBackup create is refused (never an empty disk) until the server is back.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeFromBackup, encodeRepository } from '../../src/backup-spec.js';
import { imagePath } from '../../src/schema.js';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { snapshotPolicyHandler } from '../../provider/handlers/snapshot-policy.js';
import { hostSkipReason, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { hoststore } from '../helpers/cli.js';
import {
  resticAvailable,
  rootResticCacheEntries,
  sftpRepository,
  type ResticRepositoryFixture,
} from '../helpers/restic.js';
import { freePort, startSshHost, type SshHost } from '../helpers/sshd.js';
import { storageWire } from '../helpers/specs.js';

const skip = hostSkipReason('sshd', 'mkfs.ext4') ?? (resticAvailable() ? undefined : 'restic is not installed');
if (skip) process.stderr.write(`skipping SFTP backup tests: ${skip}\n`);
const sftpTest = skip ? test.skip : test;

let server: SshHost | undefined;
let repo: ResticRepositoryFixture | undefined;
const hosts: HostFixture[] = [];
beforeAll(async () => {
  if (!skip) server = await startSshHost({ withHoststore: false });
});
afterEach(() => {
  delete process.env.HOSTSTORE_CRON_DIR;
  for (const host of hosts.splice(0)) host.cleanup();
  repo?.cleanup();
  repo = undefined;
});
afterAll(async () => {
  await server?.stop();
});

const ok = (run: { status: number | null; stdout: string; stderr: string }) =>
  run.status === 0 ? 0 : `${run.status}: ${run.stderr}${run.stdout}`;
/** A nightly policy of disk `data` replicated to `replicateTo` (a repository's canonical JSON). */
const policyWire = (root: string, replicateTo: string) => ({
  root,
  project: 'app',
  policy: 'nightly',
  storage: 'data',
  storage_kind: 'disk',
  stack: 'test',
  schedule: '0 4 * * *',
  retention_days: '7',
  retention_count: '',
  replicate_to: replicateTo,
});
const allocated = (file: string) => fs.statSync(file).blocks * 512;

/** Writes `mib` MiB of random data at `seekMib` into a new file of the disk (mounted just for that). */
function writeRandom(host: HostFixture, file: string, mib: number): void {
  const target = host.path('test-mnt');
  fs.mkdirSync(target, { recursive: true });
  execFileSync('mount', ['-o', 'loop', imagePath(host.root, 'disk', 'app', 'data'), target]);
  try {
    execFileSync('dd', [
      'if=/dev/urandom',
      `of=${target}/${file}`,
      'bs=1M',
      `count=${mib}`,
      'conv=fsync',
      'status=none',
    ]);
  } finally {
    execFileSync('umount', [target]);
  }
}

sftpTest('push over SFTP, list, restore onto another root: byte-identical to the snapshot and sparse', async () => {
  // GIVEN a 1 GB disk holding 24 MiB in two files, on root A, with a nightly policy replicated over SFTP
  const cacheBefore = rootResticCacheEntries();
  repo = sftpRepository(server!);
  const a = makeHostFixture('hoststore-sftp-a-');
  hosts.push(a);
  // The policy's cron entry goes to the fixture's own directory, never the host's /etc/cron.d.
  process.env.HOSTSTORE_CRON_DIR = a.path('cron.d');
  const ctx = makeContext(a.root, { log: () => undefined });
  await converge(storageHandler, ctx, storageHandler.validate(storageWire(a.root)));
  writeRandom(a, 'one', 16);
  writeRandom(a, 'two', 8);
  const wire = repo.wire('offsite');
  const policy = policyWire(a.root, encodeRepository(wire));
  await converge(snapshotPolicyHandler, ctx, snapshotPolicyHandler.validate(policy as never) as never);

  // WHEN a snapshot is taken and pushed by the repository's recorded name (the repository is made by the push)
  expect(ok(hoststore(['snapshot', 'create', 'data', '--root', a.root]))).toBe(0);
  expect(fs.existsSync(path.join(repo.repositoryDir, 'config'))).toBe(false);
  const push = hoststore(['backup', 'push', 'data', '--root', a.root, '--repository', 'offsite']);
  expect(ok(push)).toBe(0);

  // THEN it went through the sshd's SFTP subsystem, and the list shows it
  expect(server!.log()).toMatch(/subsystem 'sftp'/);
  const list = hoststore(['backup', 'list', 'data', '--root', a.root, '--repository', 'offsite', '--json']);
  expect(ok(list)).toBe(0);
  const entries = JSON.parse(list.stdout) as Array<{
    id: string;
    storage: string;
    kind: string;
    project: string;
    snapshot: string;
    sha256: string;
  }>;
  expect(entries).toHaveLength(1);
  expect(entries[0]).toMatchObject({ storage: 'data', kind: 'disk', project: 'app' });
  const snapshotFile = makeContext(a.root)
    .registry.list<{ id: string; path: string }>('snapshots')
    .map((s) => s.record)
    .find((s) => s.id === entries[0].snapshot)!.path;

  // WHEN root B (another host: no snapshot, no record of its own) gets the storage from that backup
  const b = makeHostFixture('hoststore-sftp-b-');
  hosts.push(b);
  const ctxB = makeContext(b.root, { log: () => undefined });
  const fromBackup = encodeFromBackup({ repository: wire, snapshot: 'latest' });
  await converge(
    storageHandler,
    ctxB,
    storageHandler.validate(storageWire(b.root, { from_backup: fromBackup } as never)),
  );

  // THEN its image is the snapshot, byte for byte, and sparse (its allocated bytes follow the data)
  const imageB = imagePath(b.root, 'disk', 'app', 'data');
  execFileSync('cmp', [snapshotFile, imageB]);
  expect(allocated(imageB)).toBeLessThanOrEqual(allocated(snapshotFile) * 1.1);
  expect(allocated(imageB)).toBeLessThan(200 * 1024 * 1024);

  // AND `backup restore --to` on B (the repository now recorded there) makes another copy, identical too
  const restore = hoststore([
    'backup',
    'restore',
    entries[0].id,
    '--to',
    'copy',
    '--root',
    b.root,
    '--repository',
    'offsite',
  ]);
  expect(ok(restore)).toBe(0);
  const copy =
    makeContext(b.root).registry.storage('disk', 'app', 'copy') ??
    makeContext(b.root).registry.storage('volume', 'app', 'copy');
  expect(copy).toBeDefined();
  execFileSync('cmp', [snapshotFile, copy!.path]);
  expect(allocated(copy!.path)).toBeLessThanOrEqual(allocated(snapshotFile) * 1.1);

  // AND restic's cache stayed under the roots, not in root's home
  expect(rootResticCacheEntries()).toEqual(cacheBefore);
});

sftpTest(
  'the SFTP server unreachable: the push fails in one line, status says failing, the next push catches up',
  async () => {
    // GIVEN a replicated disk on root A with a snapshot, its repository reached over SFTP
    const sftp = sftpRepository(server!);
    repo = sftp;
    const a = makeHostFixture('hoststore-sftp-a-');
    hosts.push(a);
    process.env.HOSTSTORE_CRON_DIR = a.path('cron.d');
    const ctx = makeContext(a.root, { log: () => undefined });
    await converge(storageHandler, ctx, storageHandler.validate(storageWire(a.root)));
    writeRandom(a, 'one', 4);
    await converge(
      snapshotPolicyHandler,
      ctx,
      snapshotPolicyHandler.validate(policyWire(a.root, encodeRepository(sftp.wire('offsite'))) as never) as never,
    );
    expect(ok(hoststore(['snapshot', 'create', 'data', '--root', a.root]))).toBe(0);

    // WHEN the server cannot be reached (its port closed) and a push runs
    sftp.network.cutOff(await freePort(server!.connection.address));
    const failed = hoststore(['backup', 'push', 'data', '--root', a.root, '--repository', 'offsite']);

    // THEN it fails with one line naming the repository, no stack trace, no secret
    expect(failed.status).toBe(1);
    const firstLine = failed.stderr.split('\n')[0];
    expect(firstLine).toMatch(/^hoststore: backup repository offsite \(sftp:hoststore-target:/);
    expect(failed.stderr).not.toMatch(/\n\s+at /);
    expect(failed.stderr + failed.stdout).not.toContain(sftp.password);
    // AND the snapshot is kept, and status says failing with that error
    const snapshots = JSON.parse(hoststore(['snapshot', 'list', 'data', '--root', a.root, '--json']).stdout);
    expect(snapshots).toHaveLength(1);
    const failing = JSON.parse(hoststore(['backup', 'status', '--root', a.root, '--json']).stdout);
    expect(JSON.stringify(failing)).toMatch(/"failing"/);

    // WHEN the server is back THEN the next push sends the snapshot and status is in sync
    sftp.network.restore();
    expect(ok(hoststore(['backup', 'push', 'data', '--root', a.root, '--repository', 'offsite']))).toBe(0);
    expect(sftp.snapshots()).toHaveLength(1);
    const synced = JSON.parse(hoststore(['backup', 'status', '--root', a.root, '--json']).stdout);
    expect(JSON.stringify(synced)).toMatch(/"in-sync"/);
    process.stderr.write(`unreachable SFTP push said: ${firstLine}\n`);
  },
);

sftpTest(
  'fromBackup on a new root while the SFTP server is unreachable: refused, no empty disk; made from the backup once it is back',
  async () => {
    // GIVEN a backup of disk `data` pushed over SFTP from root A
    const sftp = sftpRepository(server!);
    repo = sftp;
    const a = makeHostFixture('hoststore-sftp-a-');
    hosts.push(a);
    process.env.HOSTSTORE_CRON_DIR = a.path('cron.d');
    const ctx = makeContext(a.root, { log: () => undefined });
    await converge(storageHandler, ctx, storageHandler.validate(storageWire(a.root)));
    writeRandom(a, 'one', 4);
    const wire = sftp.wire('offsite');
    await converge(
      snapshotPolicyHandler,
      ctx,
      snapshotPolicyHandler.validate(policyWire(a.root, encodeRepository(wire)) as never) as never,
    );
    expect(ok(hoststore(['backup', 'push', 'data', '--root', a.root, '--repository', 'offsite']))).toBe(0);

    // WHEN root B (a new host) creates the disk fromBackup while the server cannot be reached
    sftp.network.cutOff(await freePort(server!.connection.address));
    const b = makeHostFixture('hoststore-sftp-b-');
    hosts.push(b);
    const ctxB = makeContext(b.root, { log: () => undefined });
    const spec = storageHandler.validate(
      storageWire(b.root, { from_backup: encodeFromBackup({ repository: wire, snapshot: 'latest' }) } as never),
    );
    const imageB = imagePath(b.root, 'disk', 'app', 'data');
    // THEN it is refused, naming the repository, and no disk (empty or partial) is left
    await expect(converge(storageHandler, ctxB, spec)).rejects.toThrow(
      /offsite \(sftp:hoststore-target:.*cannot reach it/,
    );
    expect(fs.existsSync(imageB)).toBe(false);
    expect(ctxB.registry.storage('disk', 'app', 'data')).toBeUndefined();

    // WHEN the server is back THEN the same converge makes the disk from the backup
    sftp.network.restore();
    await converge(storageHandler, ctxB, spec);
    const snapshotFile = makeContext(a.root)
      .registry.list<{ path: string }>('snapshots')
      .map((s) => s.record.path)[0];
    execFileSync('cmp', [snapshotFile, imageB]);
  },
);
