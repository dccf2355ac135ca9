/** The test helpers for off-host backups: the test sshd serves SFTP, and restic reaches it with the test's own ssh config. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startSshHost, type SshHost } from '../helpers/sshd.js';
import {
  localRepository,
  resticAvailable,
  rootResticCacheEntries,
  sftpRepository,
  type ResticRepositoryFixture,
} from '../helpers/restic.js';
import { isRoot } from '../helpers/host-fixture.js';

const run = isRoot() && resticAvailable() ? test : test.skip;
let host: SshHost | undefined;
const made: ResticRepositoryFixture[] = [];
const files: string[] = [];
afterEach(() => {
  for (const r of made.splice(0)) r.cleanup();
  for (const f of files.splice(0)) fs.rmSync(f, { recursive: true, force: true });
});
afterAll(async () => {
  await host?.stop();
});

run("restic makes a repository over the test sshd's SFTP subsystem and backs a file up into it", async () => {
  host = await startSshHost({ withHoststore: false });
  const repo = sftpRepository(host);
  made.push(repo);
  const source = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-restic-src-'));
  files.push(source);
  fs.writeFileSync(path.join(source, 'data'), 'hello over sftp\n');
  const cacheBefore = rootResticCacheEntries();

  repo.init();
  repo.restic(['backup', '--tag', 'hoststore', path.join(source, 'data')]);

  const snapshots = repo.snapshots();
  expect(snapshots).toHaveLength(1);
  expect(snapshots[0].tags).toEqual(['hoststore']);
  expect(fs.existsSync(path.join(repo.repositoryDir, 'config'))).toBe(true);
  expect(host.log()).toMatch(/Starting session: subsystem 'sftp'/);
  expect(repo.restic(['dump', 'latest', path.join(source, 'data')]).stdout).toBe('hello over sftp\n');
  expect(rootResticCacheEntries()).toEqual(cacheBefore);
});

run('a local repository: password file root-only, environment file too, removed by cleanup', () => {
  const repo = localRepository({ environment: { AWS_ACCESS_KEY_ID: 'x' }, init: true });
  made.push(repo);
  for (const f of [repo.passwordFile, repo.environmentFile as string]) {
    const st = fs.lstatSync(f);
    expect([st.uid, st.mode & 0o777]).toEqual([0, 0o600]);
  }
  expect(fs.readFileSync(repo.passwordFile, 'utf8')).toBe(`${repo.password}\n`);
  expect(repo.wire('offsite')).toEqual({
    name: 'offsite',
    url: repo.repositoryDir,
    password_file: repo.passwordFile,
    environment_file: repo.environmentFile,
  });
  expect(repo.snapshots()).toEqual([]);
  repo.cleanup();
  expect(fs.existsSync(repo.dir)).toBe(false);
});
