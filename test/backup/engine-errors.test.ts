/**
 * What restic says, as one line with the fix: a locked repository (a real exclusive lock held by a stopped
 * `restic prune`), an unreachable sftp: server, and the environment file's rules (parsed, never shown).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeContext } from '../../provider/handlers/handler.js';
import { listBackups } from '../../provider/backup/backups.js';
import { BackupError, openRepository, restic } from '../../provider/backup/restic.js';
import { parseEnvironment } from '../../provider/backup/restic-env.js';
import { withBackupLock, BackupLockedError } from '../../provider/backup/backup-lock.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { makeEngineRepository, type EngineRepository } from './engine-fixture.js';

let host: HostFixture;
let repo: EngineRepository;
beforeEach(() => {
  host = makeHostFixture();
  repo = makeEngineRepository();
});
afterEach(() => {
  host.cleanup();
  repo.remove();
});
const ctx = () => makeContext(host.root, { log: () => undefined });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

hostTest()(
  'a repository locked exclusively by another restic: one line naming the holder, with what to do',
  async () => {
    await openRepository(host.root, repo.record, { create: true });
    // GIVEN a restic prune stopped while it holds the exclusive lock
    const prune = spawn('restic', ['prune'], {
      env: {
        ...process.env,
        RESTIC_REPOSITORY: repo.url,
        RESTIC_PASSWORD_FILE: repo.passwordFile,
        RESTIC_CACHE_DIR: path.join(repo.dir, 'cache'),
      },
      stdio: 'ignore',
    });
    try {
      const locks = path.join(repo.url, 'locks');
      // Polled without yielding: a prune of an empty repository holds its lock only a moment.
      const deadline = Date.now() + 10_000;
      // (The local backend writes a lock as `<id>-tmp-<n>` and renames it: only the renamed one counts.)
      const held = () => fs.existsSync(locks) && fs.readdirSync(locks).some((n) => /^[0-9a-f]{64}$/.test(n));
      while (Date.now() < deadline && !held());
      prune.kill('SIGSTOP');
      // WHEN hoststore writes to it
      const error = (await restic(host.root, repo.record, ['backup', repo.passwordFile]).catch(
        (e: unknown) => e,
      )) as BackupError;
      // THEN one line says who holds it and what to do
      expect(error).toBeInstanceOf(BackupError);
      expect(error.failure).toBe('locked');
      expect(error.message).toBe(
        `backup repository offsite (${repo.url}): the repository is locked by another restic (PID ${prune.pid} on ${os.hostname()} by root); wait for it to finish; if that restic is no longer running, remove its stale lock with restic unlock (RESTIC_REPOSITORY and RESTIC_PASSWORD_FILE set as for this repository), then run again`,
      );
      // AND listing, which takes no lock, still works
      expect(await listBackups(ctx(), repo.record)).toEqual([]);
    } finally {
      prune.kill('SIGKILL');
    }
  },
  60_000,
);

hostTest()('an sftp: server that refuses the connection is "cannot reach it", never "no repository"', async () => {
  const away = {
    ...repo.record,
    url: 'sftp:127.0.0.1:/srv/none',
    options: { 'sftp.command': 'ssh -F /dev/null -o BatchMode=yes -p 1 127.0.0.1 -s sftp' },
  };
  const error = (await openRepository(host.root, away, { create: true }).catch((e: unknown) => e)) as BackupError;
  expect(error).toBeInstanceOf(BackupError);
  expect(error.failure).toBe('unreachable');
  expect(error.message).toMatch(
    /^backup repository offsite \(sftp:127\.0\.0\.1:\/srv\/none\): cannot reach it \(connect to host 127\.0\.0\.1 port 1: Connection refused\); check that the server is up/,
  );
  expect(error.message).not.toContain('\n');
});

hostTest()('one push at a time per root: a second waits, then fails naming the first (exit 4)', async () => {
  let release: () => void = () => undefined;
  const first = withBackupLock(host.root, 'hoststore backup push a', () => new Promise<void>((r) => (release = r)));
  await sleep(50);
  const second = withBackupLock(host.root, 'hoststore backup push b', async () => 'ran', { timeoutMs: 200 });
  await expect(second).rejects.toThrow(BackupLockedError);
  await expect(second).rejects.toThrow(/another push runs on .*: hoststore backup push a \(pid \d+, since/);
  // Re-entrant in one process: a push inside a run that holds the lock does not wait for itself.
  release();
  await first;
  await expect(
    withBackupLock(host.root, 'run-due', () =>
      withBackupLock(host.root, 'push', async () => 'inner', { timeoutMs: 0 }),
    ),
  ).resolves.toBe('inner');
  expect(fs.existsSync(path.join(host.root, 'registry', 'backup.lock'))).toBe(false);
});

test('environment file: KEY=value, comments, blanks, export, quotes; no expansion', () => {
  expect(
    parseEnvironment(
      '# s3\n\nAWS_ACCESS_KEY_ID=AKIA\nexport AWS_SECRET_ACCESS_KEY="se cret=1"\nB2_ACCOUNT_KEY=\'x\'\nHOME_DIR=$HOME\r\n',
      '/etc/x.env',
    ),
  ).toEqual({ AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'se cret=1', B2_ACCOUNT_KEY: 'x', HOME_DIR: '$HOME' });
});

test.each([
  ['RESTIC_PASSWORD=x', /line 1: RESTIC_PASSWORD may not be set there/],
  ['RESTIC_PASSWORD_COMMAND=cat /x', /line 1: RESTIC_PASSWORD_COMMAND may not be set there/],
  ['RESTIC_REPOSITORY_FILE=/x', /line 1: RESTIC_REPOSITORY_FILE may not be set there/],
  ['lower=secretvalue', /line 1: the name before '=' must be .*\(\^\[A-Z_\]\[A-Z0-9_\]\*\$\)/],
  ['# ok\nNO_EQUALS_secretvalue', /line 2: is not KEY=value/],
])('environment file line %j is refused in one line without its value', (text, expected) => {
  let error: unknown;
  try {
    parseEnvironment(text, '/etc/x.env');
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(BackupError);
  const message = (error as Error).message;
  expect(message).toMatch(/^environment file \/etc\/x\.env line \d: /);
  expect(message).toMatch(expected);
  expect(message).not.toMatch(/secretvalue|cat \/x|=x/);
  expect(message).not.toContain('\n');
});

hostTest()('a backup lock left by a killed push is broken once its process is gone', async () => {
  fs.mkdirSync(path.join(host.root, 'registry'), { recursive: true, mode: 0o700 });
  // A pid that is surely not running: a child that has exited.
  const gone = spawn('true');
  await new Promise((r) => gone.on('close', r));
  fs.writeFileSync(
    path.join(host.root, 'registry', 'backup.lock'),
    JSON.stringify({ pid: gone.pid, holder: 'hoststore backup push data', since: '2026-01-01T00:00:00.000Z' }),
    { mode: 0o600 },
  );
  await expect(withBackupLock(host.root, 'next push', async () => 'ran', { timeoutMs: 2000 })).resolves.toBe('ran');
});
