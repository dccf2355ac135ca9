/**
 * Connection sharing: the calls of one deploy share one ssh connection, and more calls at once than the host's
 * sshd lets share one connection (its MaxSessions, 10 by default: Terraform runs 10 at once) still all run.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, type CliResult } from '../helpers/cli.js';
import { storageWire } from '../helpers/specs.js';
import { startSshHost, type SshHost } from '../helpers/sshd.js';

let host: SshHost;
let runtimeDir: string;
beforeAll(async () => {
  host = await startSshHost({ sshdConfig: ['MaxSessions 2'] });
  runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-xdg-'));
});
afterAll(async () => {
  await host?.stop();
  if (runtimeDir) fs.rmSync(runtimeDir, { recursive: true, force: true });
});

function handle(op: string, spec: unknown, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, 'handle', 'storage', op], {
    env: {
      ...process.env,
      XDG_RUNTIME_DIR: runtimeDir,
      HOSTSTORE_HOST: JSON.stringify(host.connection),
      HOSTSTORE_SPEC: JSON.stringify(spec),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

test('six calls at once through a host that allows two sessions a connection all succeed', async () => {
  const specs = Array.from({ length: 6 }, (_, i) => ({
    ...storageWire(host.root, { name: `many-${i}`, removal_policy: 'destroy' }),
    host: host.connection.address,
  }));
  const made = await Promise.all(specs.map((spec) => handle('converge', spec)));
  for (const result of made)
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  for (const spec of specs) expect(fs.existsSync(path.join(host.root, 'disks', `${spec.name}.img`))).toBe(true);
  const deleted = await Promise.all(
    specs.map((spec) =>
      handle(
        'delete',
        { kind: spec.kind, root: spec.root, project: spec.project, name: spec.name, host: host.connection.address },
        { HOSTSTORE_STACK: 'test' },
      ),
    ),
  );
  for (const result of deleted)
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  // OpenSSH itself falls back to a connection of its own when the shared one refuses a session (MaxSessions).
  expect(host.log()).toContain('no more sessions');
});

test('calls one after another log in once: the shared connection serves them all', async () => {
  const logins = () => (host.log().match(/Accepted publickey/g) ?? []).length;
  const spec = {
    ...storageWire(host.root, { name: 'reused', removal_policy: 'destroy' }),
    host: host.connection.address,
  };
  expect((await handle('converge', spec)).status).toBe(0);
  const before = logins();
  for (const size of ['2', '3']) expect((await handle('converge', { ...spec, size_gb: size })).status).toBe(0);
  const identity = {
    kind: spec.kind,
    root: spec.root,
    project: spec.project,
    name: spec.name,
    host: host.connection.address,
  };
  expect((await handle('delete', identity, { HOSTSTORE_STACK: 'test' })).status).toBe(0);
  expect(logins()).toBe(before);
});
