/**
 * `hoststore backup push | list | restore | status | verify` through the built CLI, against real restic and a
 * repository on a local path: tables, `--json` shaped like the rows, exit codes, and one line for bad input.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { imagePath } from '../../src/schema.js';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { storageWire } from '../helpers/specs.js';
import { hoststore } from '../helpers/cli.js';
import { makeEngineRepository, writeRandom, type EngineRepository } from './engine-fixture.js';

const MiB = 1 << 20;
let host: HostFixture;
let other: HostFixture;
let repo: EngineRepository;
beforeEach(() => {
  host = makeHostFixture();
  other = makeHostFixture();
  repo = makeEngineRepository();
});
afterEach(() => {
  host.cleanup();
  other.cleanup();
  repo.remove();
});

const cli = (root: string, ...args: string[]) => hoststore([...args, '--root', root]);
const hasRestic = () => {
  try {
    execFileSync('restic', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
};
const resticTest = (name: string, fn: () => Promise<void>) => (hasRestic() ? hostTest() : test.skip)(name, fn, 240_000);

resticTest(
  'push (taking a snapshot), list, status, verify and restore on another root, in text and --json',
  async () => {
    // GIVEN a disk with data and its project's repository recorded on the root
    await converge(
      storageHandler,
      makeContext(host.root, { log: () => undefined }),
      storageHandler.validate(storageWire(host.root)),
    );
    writeRandom(imagePath(host.root, 'disk', 'app', 'data'), 128 * MiB, 16 * MiB);
    repo.recordOn(host.root);

    // WHEN the disk, which has no snapshot yet, is pushed
    const pushed = cli(host.root, 'backup', 'push', 'data', '--json');
    expect(pushed).toMatchObject({ status: 0 });
    const push = JSON.parse(pushed.stdout);
    expect(push).toMatchObject({
      repository: 'offsite',
      url: repo.url,
      initialised: true,
      backup: { kind: 'disk', project: 'app', storage: 'data', snapshot: push.snapshot },
    });
    const id: string = push.backup.id;
    expect(id).toMatch(/^[0-9a-f]{64}$/);

    // AND pushing again without a newer snapshot adds nothing
    const twice = cli(host.root, 'backup', 'push', 'data');
    expect(twice).toMatchObject({ status: 0 });
    expect(twice.stdout).toBe(
      `disk data: its newest snapshot ${push.snapshot} is already in offsite (${repo.url}) as backup ${id.slice(0, 8)}; take a new one (hoststore snapshot create data --root ${host.root}) to push the current data\n`,
    );

    // THEN list shows it (by the recorded name, and by URL from a root that records nothing)
    const listed = cli(host.root, 'backup', 'list');
    expect(listed.status).toBe(0);
    expect(listed.stdout).toMatch(/^ID +HOST +PROJECT +STORAGE +TIME +SIZE +ADDED +SNAPSHOT/);
    expect(listed.stdout).toContain(id.slice(0, 8));
    expect(listed.stdout).toMatch(/disk data .* 1\.0 GiB/);
    const byUrl = cli(
      other.root,
      'backup',
      'list',
      'data',
      '--repository',
      repo.url,
      '--password-file',
      repo.passwordFile,
      '--json',
    );
    expect(byUrl.status).toBe(0);
    expect(JSON.parse(byUrl.stdout)).toEqual([
      expect.objectContaining({ id, shortId: id.slice(0, 8), storage: 'data', size: 1024 * MiB }),
    ]);

    // AND status says in sync, with what was sent
    const status = cli(host.root, 'backup', 'status', '--json');
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual([
      expect.objectContaining({
        kind: 'disk',
        project: 'app',
        storage: 'data',
        repository: 'offsite',
        state: 'in-sync',
        lastPushedSnapshot: push.snapshot,
        lagSeconds: 0,
        bytesAdded: push.bytesAdded,
      }),
    ]);
    expect(cli(host.root, 'backup', 'status').stdout).toMatch(/disk app\/data +offsite +in-sync/);

    // AND verify checks the repository
    const verified = cli(host.root, 'backup', 'verify');
    expect(verified).toMatchObject({
      status: 0,
      stdout: `backup repository offsite (${repo.url}): intact (restic check: no errors were found)\n`,
    });

    // WHEN another root restores the backup by its short id
    const restored = cli(
      other.root,
      'backup',
      'restore',
      id.slice(0, 8),
      '--to',
      'data',
      '--repository',
      repo.url,
      '--password-file',
      repo.passwordFile,
    );
    expect(restored.stderr).toBe('');
    expect(restored.status).toBe(0);
    expect(restored.stdout).toMatch(
      /^restoring backup [0-9a-f]{8} \(disk data, .*\) from command-line \(.*\)\nrestored backup [0-9a-f]{8} \(disk data from .*\) as disk data at .*\/disks\/data\.img; declare a Disk named 'data' to mount it\n$/,
    );
    // THEN it is a managed disk there, the data byte for byte
    expect(cli(other.root, 'list', '--json').stdout).toContain('"data"');
    execFileSync('cmp', [imagePath(other.root, 'disk', 'app', 'data'), imagePath(host.root, 'disk', 'app', 'data')]);
    // AND a second restore to the same name is refused (exit 3), nothing overwritten
    const again = cli(
      other.root,
      'backup',
      'restore',
      id.slice(0, 8),
      '--to',
      'data',
      '--repository',
      repo.url,
      '--password-file',
      repo.passwordFile,
    );
    expect(again).toMatchObject({ status: 3, stderr: 'hoststore: disk data already exists; restore to a new name\n' });
  },
);

resticTest('bad --repository values are one line each (exit 2)', async () => {
  repo.recordOn(host.root);
  expect(cli(host.root, 'backup', 'list', '--repository', 'nope')).toMatchObject({
    status: 2,
    stderr: `hoststore: no backup repository named nope is recorded on ${host.root} (recorded: app/offsite); give a recorded name, or a URL with --password-file\n`,
  });
  expect(cli(host.root, 'backup', 'list', '--repository', '/srv/x')).toMatchObject({
    status: 2,
    stderr:
      "hoststore: --repository /srv/x is a URL, so it needs --password-file FILE (the repository's password, in a root-owned file of mode 0600)\n",
  });
  expect(cli(host.root, 'backup', 'list', '--repository', 'ftp:x')).toMatchObject({ status: 2 });
  expect(cli(host.root, 'backup', 'restore', 'abcd1234')).toMatchObject({ status: 2 });
  // A password file others may read is refused before restic runs, naming the file.
  fs.chmodSync(repo.passwordFile, 0o644);
  const open = cli(host.root, 'backup', 'verify');
  expect(open.status).toBe(1);
  expect(open.stderr).toBe(
    `hoststore: backup repository offsite (${repo.url}): backup repository offsite's password file ${repo.passwordFile} is open to group or others (mode 0644), so others could read the secret; fix: chmod 600 ${repo.passwordFile}\n`,
  );
});
