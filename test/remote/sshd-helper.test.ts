/** The fake host of test/helpers/sshd.ts: `ssh -F` reaches it, runs a command as root with its PATH and env. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { startSshHost, type SshHost } from '../helpers/sshd.js';

let host: SshHost;
beforeAll(async () => {
  host = await startSshHost();
});
afterAll(async () => {
  await host?.stop();
});

test('ssh -F with the host config runs a command on the host, as root, with its PATH and environment', () => {
  const out = execFileSync(
    'ssh',
    ['-F', host.sshConfigFile, '-T', 'hoststore-target', 'id -u; command -v hoststore; printf "%s\\n" "$HOSTSTORE_CRON_DIR"'],
    { encoding: 'utf8', stdin: 'ignore' } as never,
  );
  expect(out.split('\n')).toEqual(['0', `${host.binDir}/hoststore`, host.cronDir, '']);
});

test('the hoststore on the host is this worktree\'s build', () => {
  const out = execFileSync('ssh', ['-F', host.sshConfigFile, '-T', 'hoststore-target', 'hoststore --version'], {
    encoding: 'utf8',
  });
  const version = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
  expect(out.trim()).toBe(version);
});

test('stop() kills sshd and removes its directory', async () => {
  const other = await startSshHost();
  await other.stop();
  expect(fs.existsSync(other.dir)).toBe(false);
  expect(() =>
    execFileSync('ssh', ['-F', host.sshConfigFile, '-o', `Port=${other.connection.port}`, '-o', `HostName=${other.connection.address}`, '-o', 'ConnectTimeout=2', '-T', 'hoststore-target', 'true'], { stdio: 'ignore' }),
  ).toThrow();
});
