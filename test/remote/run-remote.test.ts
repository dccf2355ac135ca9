/**
 * runRemote, the transport the engine and the handler forwarding share: what it returns for a request the
 * host accepted or answered itself, and which errors it throws (as classes, for callers to tell apart).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runRemote } from '../../provider/remote/ssh-run.js';
import { HostKeyError, HostUnreachableError, RemoteMissingError } from '../../provider/remote/remote-errors.js';
import { startSshHost, type SshHost } from '../helpers/sshd.js';

let host: SshHost;
let runtimeDir: string;
const saved = process.env.XDG_RUNTIME_DIR;
beforeAll(async () => {
  host = await startSshHost();
  runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-xdg-'));
  process.env.XDG_RUNTIME_DIR = runtimeDir;
});
afterAll(async () => {
  await host?.stop();
  if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
  else process.env.XDG_RUNTIME_DIR = saved;
  if (runtimeDir) fs.rmSync(runtimeDir, { recursive: true, force: true });
});

test('an accepted request: its exit code and output, without the acceptance line', async () => {
  const identity = { kind: 'disk', root: host.root, project: 'app', name: 'x', host: '10.9.9.9' };
  const run = await runRemote(host.connection, {
    command: 'handle',
    args: ['storage', 'delete'],
    host: host.connection.address,
    env: { HOSTSTORE_SPEC: JSON.stringify(identity) },
  });
  expect(run).toEqual({
    code: 0,
    stdout: expect.stringMatching(/^hoststore: disk x \(project app\) was made on host 10\.9\.9\.9, .*\n$/),
    stderr: '',
  });
});

test('a request the host refuses itself (a command it does not serve): returned, not thrown', async () => {
  const run = await runRemote(host.connection, { command: 'no-such-command' });
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(/^hoststore: hoststore remote: unknown command "no-such-command"; .*\n$/);
});

test('the errors are classes: unreachable, host key, missing', async () => {
  await expect(runRemote({ ...host.connection, port: 9 }, { command: 'handle' })).rejects.toBeInstanceOf(
    HostUnreachableError,
  );
  const knownHostsFile = path.join(runtimeDir, 'empty');
  fs.writeFileSync(knownHostsFile, '');
  await expect(runRemote({ ...host.connection, knownHostsFile }, { command: 'handle' })).rejects.toBeInstanceOf(
    HostKeyError,
  );
  fs.renameSync(path.join(host.binDir, 'hoststore'), path.join(host.binDir, 'hoststore.off'));
  try {
    await expect(runRemote(host.connection, { command: 'handle' })).rejects.toBeInstanceOf(RemoteMissingError);
  } finally {
    fs.renameSync(path.join(host.binDir, 'hoststore.off'), path.join(host.binDir, 'hoststore'));
  }
});

test('an abort stops the request', async () => {
  const controller = new AbortController();
  const running = runRemote(host.connection, { command: 'handle' }, { signal: controller.signal });
  controller.abort();
  await expect(running).rejects.toThrow(/was stopped/);
});

test('a connection that breaks after the host accepted the request: one line saying so', async () => {
  const flaky = await startSshHost({ withHoststore: false });
  try {
    // A host that accepts the request, then hangs until the connection goes.
    fs.writeFileSync(
      path.join(flaky.binDir, 'hoststore'),
      "#!/bin/sh\ncat >/dev/null\necho 'hoststore remote: request accepted (contract 1, handle)' >&2\necho started >&2\nsleep 60\n",
      { mode: 0o755 },
    );
    const running = runRemote(flaky.connection, { command: 'handle' });
    const failed = expect(running).rejects.toThrow(
      new RegExp(`^host root@${flaky.connection.address.replace(/\./g, '\\.')}:\\d+: the connection broke while hoststore ran there \\(.*\\); what it did there is complete or rolled back on its next run: run the deploy again$`),
    );
    await new Promise((r) => setTimeout(r, 1500));
    await flaky.stop();
    await failed;
  } finally {
    await flaky.stop();
  }
});
