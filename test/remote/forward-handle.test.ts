/**
 * `hoststore handle` of a remote project (HOSTSTORE_HOST set) runs the handler on the host through real
 * OpenSSH (test/helpers/sshd.ts): storage made, grown with its data kept and deleted there; nothing on a
 * command line; host keys checked; a host without hoststore, or with another contract, refused in one line.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, type CliResult } from '../helpers/cli.js';
import { makeHostFixture } from '../helpers/host-fixture.js';
import { storageWire, mountWire } from '../helpers/specs.js';
import { startSshHost, type SshHost } from '../helpers/sshd.js';
import type { HostConnection } from '../../src/host-connection.js';
import { SAME_MACHINE } from '../../provider/remote/host-moved.js';

const version = (
  JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
let host: SshHost;
/** The private directory of ssh's sockets and configs for the CLI runs of this file (XDG_RUNTIME_DIR). */
let runtimeDir: string;

beforeAll(async () => {
  host = await startSshHost();
  runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-xdg-'));
});
afterAll(async () => {
  await host?.stop();
  if (runtimeDir) fs.rmSync(runtimeDir, { recursive: true, force: true });
});

/** Runs `hoststore handle KIND OP` as a remote project's provisioner does, resolving when it exits. */
function handle(
  kind: string,
  op: string,
  spec: unknown,
  options: { connection?: HostConnection | null; env?: NodeJS.ProcessEnv; onSpawn?: (pid: number) => void } = {},
): Promise<CliResult> {
  const connection = options.connection === undefined ? host.connection : options.connection;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_RUNTIME_DIR: runtimeDir,
    HOSTSTORE_SPEC: typeof spec === 'string' ? spec : JSON.stringify(spec),
    // Forwarded calls: no tool is found on this side, so a call that ran here instead of on the host would fail.
    ...(connection ? { HOSTSTORE_HOST: JSON.stringify(connection), HOSTSTORE_TOOL_PATH: '/nonexistent' } : {}),
    ...options.env,
  };
  if (!connection) delete env.HOSTSTORE_HOST;
  const child = spawn(process.execPath, [CLI, 'handle', kind, op], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  options.onSpawn?.(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

/** Runs a command on the host (as root), as a person would over ssh. */
function onHost(command: string): string {
  return execFileSync('ssh', ['-F', host.sshConfigFile, '-T', 'hoststore-target', command], { encoding: 'utf8' });
}

/** A remote project's storage spec, as synthesized: it names its host. */
const remoteStorage = (overrides: Record<string, string> = {}) => ({
  ...storageWire(host.root, { name: 'fwd', removal_policy: 'destroy', ...overrides }),
  host: host.connection.address,
});
const remoteMount = (overrides: Record<string, string>) => ({
  ...mountWire(host.root, overrides),
  host: host.connection.address,
});
/** The identity the old state holds: `host` the address it was made on (default the test host), null for none. */
const identityOf = (spec: Record<string, string>, hostAddress: string | null = host.connection.address) => ({
  kind: spec.kind,
  root: spec.root,
  project: spec.project,
  name: spec.name,
  ...(hostAddress === null ? {} : { host: hostAddress }),
});

/** Whether `pid` runs under an sshd session: the host's side of the test (the host is this machine). */
function onHostSide(pid: string): boolean {
  for (let p = pid, hops = 0; p !== '0' && p !== '1' && hops < 64; hops += 1) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
    } catch {
      return false;
    }
    if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === 'sshd') return true;
    p = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
  }
  return false;
}

test('a storage converges, grows with its data kept, and is deleted on the host, not here', async () => {
  // GIVEN a disk and its mount converged through the forwarder
  const spec = remoteStorage();
  const image = path.join(host.root, 'disks', 'fwd.img');
  const made = await handle('storage', 'converge', spec);
  expect(made.stderr).toBe('');
  expect(made.status).toBe(0);
  expect(made.stdout).toContain(`created 1 GB ext4 at ${image}`);
  expect(fs.statSync(image).size).toBe(1024 ** 3);
  const mount = remoteMount({ storage: 'fwd', mount_path: '/data' });
  expect((await handle('mount', 'converge', mount)).status).toBe(0);
  onHost(`printf kept > ${mount.host_path}/file`);
  // WHEN it grows
  const grown = await handle('storage', 'converge', { ...spec, size_gb: '2' });
  // THEN the host has the larger image and the data
  expect(grown.status).toBe(0);
  expect(fs.statSync(image).size).toBe(2 * 1024 ** 3);
  expect(onHost(`cat ${mount.host_path}/file`)).toBe('kept');
  // WHEN the mount and the storage are deleted (their identities name this host)
  expect((await handle('mount', 'delete', mount, { env: { HOSTSTORE_STACK: 'test' } })).status).toBe(0);
  const deleted = await handle('storage', 'delete', identityOf(spec), { env: { HOSTSTORE_STACK: 'test' } });
  // THEN they are gone from the host
  expect(deleted.stderr).toBe('');
  expect(deleted.status).toBe(0);
  expect(fs.existsSync(image)).toBe(false);
});

test('a project converge sends the manifest and every entry, and converges the project on the host', async () => {
  const storage = remoteStorage({ name: 'proj' });
  const mount = remoteMount({ storage: 'proj', service: 'api', mount_path: '/srv' });
  const manifest = {
    host: host.connection.address,
    root: host.root,
    project: 'app',
    stack: 'test',
    storage: 'disk:proj',
    mounts: 'api/1:/srv',
    policies: '',
    specs: '0'.repeat(64),
  };
  const entries = {
    HOSTSTORE_SPEC_1: JSON.stringify({ address: 'test/app/proj', kind: 'storage', spec: storage }),
    HOSTSTORE_SPEC_2: JSON.stringify({ address: 'test/app/proj-mount', kind: 'mount', spec: mount }),
  };
  const result = await handle('project', 'converge', manifest, { env: entries });
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  expect(result.stdout).toMatch(/create disk proj/);
  expect(onHost(`findmnt -n -o TARGET ${mount.host_path}`).trim()).toBe(mount.host_path);
  const again = await handle('project', 'converge', manifest, { env: entries });
  expect(again.stdout).toMatch(/nothing to change \(2 converged\)/);
  // Cleanup on the host: the mount, then the storage.
  expect((await handle('mount', 'delete', mount, { env: { HOSTSTORE_STACK: 'test' } })).status).toBe(0);
  expect((await handle('storage', 'delete', identityOf(storage), { env: { HOSTSTORE_STACK: 'test' } })).status).toBe(0);
});

test('a project entry for another host than its manifest is refused on the host, nothing converged', async () => {
  const storage = { ...remoteStorage({ name: 'stray' }), host: '10.9.9.9' };
  const manifest = {
    host: host.connection.address,
    root: host.root,
    project: 'app',
    stack: 'test',
    storage: 'disk:stray',
    mounts: '',
    policies: '',
    specs: '0'.repeat(64),
  };
  const result = await handle('project', 'converge', manifest, {
    env: { HOSTSTORE_SPEC_1: JSON.stringify({ address: 'test/app/stray', kind: 'storage', spec: storage }) },
  });
  expect(result.status).toBe(2);
  expect(result.stderr).toMatch(
    /^hoststore: HOSTSTORE_SPEC_1 \(test\/app\/stray\): refused: its host is "10\.9\.9\.9", but this manifest converges host "127\.0\.0\.\d+"/,
  );
  expect(fs.existsSync(path.join(host.root, 'disks', 'stray.img'))).toBe(false);
});

test('no process on the deploying side has the address or the spec on its command line while a call is forwarded', async () => {
  const name = `ps-rule-${process.pid}`;
  const spec = remoteStorage({ name });
  const seen = new Set<string>();
  let sawSsh = false;
  let running = true;
  const done = handle('storage', 'converge', spec).finally(() => (running = false));
  while (running) {
    for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      let cmdline: string;
      try {
        cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      } catch {
        continue;
      }
      if (cmdline.includes('hoststore-target')) sawSsh = true;
      // The host's own processes (the handler's mkfs names the disk) run on the host; every other one is ours.
      if ((cmdline.includes(host.connection.address) || cmdline.includes(name)) && !onHostSide(pid)) seen.add(cmdline);
    }
    await new Promise((r) => setImmediate(r));
  }
  const result = await done;
  expect(result.status).toBe(0);
  expect(sawSsh).toBe(true);
  expect([...seen]).toEqual([]);
  // Cleanup: delete it on the host.
  expect((await handle('storage', 'delete', identityOf(spec), { env: { HOSTSTORE_STACK: 'test' } })).status).toBe(0);
});

test('a stack name full of shell characters reaches the host intact and runs nothing', async () => {
  const marker = path.join(host.dir, 'pwned');
  const stack = `s$(touch ${marker}1)\`touch ${marker}2\`;touch ${marker}3 '"|& #\n`;
  const spec = remoteStorage({ name: 'shell-chars', stack });
  const made = await handle('storage', 'converge', spec);
  expect(made.stderr).toBe('');
  expect(made.status).toBe(0);
  const registry = JSON.parse(fs.readFileSync(path.join(host.root, 'registry', 'storage.json'), 'utf8'));
  expect(JSON.stringify(registry)).toContain(JSON.stringify(stack).slice(1, -1));
  const deleted = await handle('storage', 'delete', identityOf(spec), { env: { HOSTSTORE_STACK: stack } });
  expect(deleted.status).toBe(0);
  expect(fs.existsSync(path.join(host.root, 'disks', 'shell-chars.img'))).toBe(false);
  for (const n of [1, 2, 3]) expect(fs.existsSync(`${marker}${n}`)).toBe(false);
});

describe('a delete for another host than the one it was made on (a moved project) does nothing anywhere', () => {
  let local: ReturnType<typeof makeHostFixture>;
  beforeEach(() => {
    local = makeHostFixture();
  });
  afterEach(() => local.cleanup());

  test('made on another host: retained there, the new host untouched', async () => {
    const spec = remoteStorage({ name: 'moved' });
    expect((await handle('storage', 'converge', spec)).status).toBe(0);
    const image = path.join(host.root, 'disks', 'moved.img');
    // The old state's identity names 10.9.9.9; the current config sends the call to the test host.
    const result = await handle('storage', 'delete', identityOf(spec, '10.9.9.9'), {
      env: { HOSTSTORE_STACK: 'test' },
    });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      `hoststore: disk moved (project app) was made on host 10.9.9.9, but this project now deploys to host ${host.connection.address}: it is retained on host 10.9.9.9, untouched; once nothing there needs it, delete it there with hoststore delete moved --force --root ${host.root} (--force: it is still mounted). ${SAME_MACHINE}\n`,
    );
    expect(fs.existsSync(image)).toBe(true);
    // Made locally (no host in the identity), now remote: retained here.
    const fromLocal = await handle('storage', 'delete', identityOf(spec, null), {
      env: { HOSTSTORE_STACK: 'test' },
    });
    expect(fromLocal.status).toBe(0);
    expect(fromLocal.stdout).toContain(
      'was made on the machine that runs the deploy, but this project now deploys to host',
    );
    expect(fs.existsSync(image)).toBe(true);
    expect((await handle('storage', 'delete', identityOf(spec), { env: { HOSTSTORE_STACK: 'test' } })).status).toBe(0);
    expect(fs.existsSync(image)).toBe(false);
  });

  test('made on a host, the project now local: nothing deleted on this machine', async () => {
    const spec = storageWire(local.root, { name: 'local', removal_policy: 'destroy' });
    expect((await handle('storage', 'converge', spec, { connection: null })).status).toBe(0);
    const image = local.path('disks', 'local.img');
    const result = await handle('storage', 'delete', identityOf(spec, '10.9.9.9'), {
      connection: null,
      env: { HOSTSTORE_STACK: 'test' },
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      'disk local (project app) was made on host 10.9.9.9, but this project now deploys to the machine that runs the deploy: it is retained on host 10.9.9.9, untouched;',
    );
    expect(fs.existsSync(image)).toBe(true);
  });

  test('a converge of a spec for another host is refused, here and when forwarded', async () => {
    const spec = { ...storageWire(local.root, { name: 'elsewhere' }), host: '10.9.9.9' };
    const here = await handle('storage', 'converge', spec, { connection: null });
    expect(here.status).toBe(2);
    expect(here.stderr).toBe(
      'hoststore: HOSTSTORE_SPEC is for host 10.9.9.9, but HOSTSTORE_HOST is not set, so it would be converged on this machine: run cdktf synth again and deploy the stack as synthesized\n',
    );
    const forwarded = await handle('storage', 'converge', { ...spec, root: host.root });
    expect(forwarded.status).toBe(2);
    expect(forwarded.stderr).toBe(
      `hoststore: HOSTSTORE_SPEC is for host 10.9.9.9, but HOSTSTORE_HOST sends it to ${host.connection.address}: run cdktf synth again and deploy the stack as synthesized\n`,
    );
    expect(fs.existsSync(local.path('disks'))).toBe(false);
    expect(fs.existsSync(path.join(host.root, 'disks', 'elsewhere.img'))).toBe(false);
  });

  test('a converge of a spec naming no host (a local project) is refused when HOSTSTORE_HOST is set', async () => {
    // A local project's provisioner with HOSTSTORE_HOST in the environment Terraform inherits: converged
    // on the host, the storage there could never be deleted (its identity names no host: "retained").
    const spec = storageWire(host.root, { name: 'nohost', removal_policy: 'destroy' });
    const forwarded = await handle('storage', 'converge', spec);
    expect(forwarded.status).toBe(2);
    expect(forwarded.stderr).toBe(
      `hoststore: HOSTSTORE_SPEC is for the machine that runs the deploy (it names no host), but HOSTSTORE_HOST sends it to ${host.connection.address}: run cdktf synth again and deploy the stack as synthesized\n`,
    );
    expect(fs.existsSync(path.join(host.root, 'disks', 'nohost.img'))).toBe(false);
  });
});

describe('host keys are checked, never accepted', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-known-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a known_hosts without the host key: one line, nothing run on the host', async () => {
    const knownHostsFile = path.join(dir, 'empty_known_hosts');
    fs.writeFileSync(knownHostsFile, '');
    const spec = remoteStorage({ name: 'unknown-key' });
    const result = await handle('storage', 'converge', spec, { connection: { ...host.connection, knownHostsFile } });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `hoststore: host root@${host.connection.address}:${host.connection.port}: its host key is not in ${knownHostsFile}, so nothing was sent (host keys are always checked, never accepted on first use); to add it, compare \`ssh-keyscan -p ${host.connection.port} ${host.connection.address} | ssh-keygen -lf -\` with \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` run on the host, and only if they match: ssh-keyscan -p ${host.connection.port} ${host.connection.address} >> ${knownHostsFile}\n`,
    );
    expect(fs.readFileSync(knownHostsFile, 'utf8')).toBe('');
    expect(fs.existsSync(path.join(host.root, 'disks', 'unknown-key.img'))).toBe(false);
  });

  test('a known_hosts with another key for the host: one line, nothing run on the host', async () => {
    const knownHostsFile = path.join(dir, 'wrong_known_hosts');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'other')]);
    const other = fs.readFileSync(path.join(dir, 'other.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    fs.writeFileSync(knownHostsFile, `[${host.connection.address}]:${host.connection.port} ${other}\n`);
    const spec = remoteStorage({ name: 'wrong-key' });
    const result = await handle('storage', 'converge', spec, { connection: { ...host.connection, knownHostsFile } });
    expect(result.status).toBe(1);
    expect(result.stderr.split('\n')).toHaveLength(2);
    expect(result.stderr).toMatch(
      /^hoststore: host root@\S+: its host key differs from the one for \[\S+\]:\d+ in \S+, so nothing was sent .*, and only if they match: ssh-keygen -R '\[\S+\]:\d+' -f \S+ && ssh-keyscan -p \d+ \S+ >> \S+\n$/,
    );
    expect(fs.existsSync(path.join(host.root, 'disks', 'wrong-key.img'))).toBe(false);
  });
});

describe('a host whose hoststore is missing or speaks another contract', () => {
  let bare: SshHost;
  beforeAll(async () => {
    bare = await startSshHost({ withHoststore: false });
  });
  afterAll(async () => {
    await bare?.stop();
  });
  const wrapper = () => path.join(bare.binDir, 'hoststore');
  afterEach(() => fs.rmSync(wrapper(), { force: true }));
  /** A storage converge forwarded to this host, whatever its `hoststore` is. */
  const convergeThere = () =>
    handle(
      'storage',
      'converge',
      { ...storageWire(bare.root), host: bare.connection.address },
      { connection: bare.connection },
    );

  test('no hoststore on the PATH: one line with the install command', async () => {
    const result = await convergeThere();
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `hoststore: host root@${bare.connection.address}:${bare.connection.port} has no hoststore on the PATH of root, so nothing was done there; install it on the host: npm install -g cdktf-hoststore@${version}\n`,
    );
  });

  test('another contract version: one line naming both, with the install command', async () => {
    // A hoststore of a later contract refuses the request as serve.ts does (checked there, below).
    fs.writeFileSync(
      wrapper(),
      `#!/bin/sh\ncat >/dev/null\necho 'hoststore: the request speaks contract 1 (hoststore 0.1.0), but hoststore 9.0.0 here speaks contract 2; install the same version on both: npm install -g cdktf-hoststore@0.1.0' >&2\nexit 65\n`,
      { mode: 0o755 },
    );
    const result = await convergeThere();
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `hoststore: host root@${bare.connection.address}:${bare.connection.port}: the request speaks contract 1 (hoststore 0.1.0), but hoststore 9.0.0 here speaks contract 2; nothing was done there; install the same version on the host: npm install -g cdktf-hoststore@${version}\n`,
    );
  });

  test('a `hoststore` there that exits 0 without accepting the request is not taken for a success', async () => {
    fs.writeFileSync(wrapper(), `#!/bin/sh\ncat >/dev/null\necho done\nexit 0\n`, { mode: 0o755 });
    const result = await convergeThere();
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^hoststore: host \S+: the hoststore there did not accept the request \(it is not one that serves `hoststore remote`\); nothing was done there; install the same version on the host: npm install -g cdktf-hoststore@\S+\n$/,
    );
  });

  test('a hoststore too old to know `remote`: one line', async () => {
    fs.writeFileSync(
      wrapper(),
      `#!/bin/sh\necho "hoststore: unknown command 'remote'; hoststore commands: list, handle" >&2\nexit 2\n`,
      { mode: 0o755 },
    );
    const result = await convergeThere();
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^hoststore: host \S+: its hoststore is too old to know `hoststore remote`; nothing was done there; install the same version on the host: npm install -g cdktf-hoststore@0\.1\.0\n$/,
    );
  });
});

describe('hoststore remote (the host end)', () => {
  const serve = (input: string) =>
    execFileSync(process.execPath, [CLI, 'remote'], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  const fails = (input: string): { status: number; stderr: string } => {
    try {
      serve(input);
    } catch (error) {
      const e = error as { status: number; stderr: string };
      return { status: e.status, stderr: e.stderr };
    }
    throw new Error('hoststore remote succeeded');
  };

  test('a request of another contract version: exit 65, one line naming both versions and the install command', () => {
    expect(fails(JSON.stringify({ hoststore: 999, version: '7.1.0', command: 'handle' }))).toEqual({
      status: 65,
      stderr: `hoststore: the request speaks contract 999 (hoststore 7.1.0), but hoststore ${version} here speaks contract 1; install the same version on both: npm install -g cdktf-hoststore@7.1.0\n`,
    });
  });

  test('a terminal on stdin: one line, nothing read', () => {
    const result = spawnSync('script', ['-qec', `${process.execPath} ${CLI} remote`, '/dev/null'], {
      encoding: 'utf8',
      input: '',
    });
    expect(result.stdout.replace(/\r/g, '')).toBe(
      'hoststore: hoststore remote reads one JSON request on stdin, as hoststore sends it over ssh to a storage host; it is not run by hand (stdin is a terminal)\n',
    );
    expect(result.status).toBe(2);
  });

  test('not JSON, too large, an unknown command, bad args or host, a variable a handler does not read: one line each', () => {
    expect(fails('{nope').stderr).toMatch(
      /^hoststore: hoststore remote reads one JSON request on stdin.*: the request is not JSON \(.*\)\n$/,
    );
    expect(fails(JSON.stringify({ hoststore: 1, command: 'shell' }))).toEqual({
      status: 2,
      stderr: expect.stringMatching(
        /^hoststore: hoststore remote: unknown command "shell"; this hoststore \(\S+\) serves handle\b.*\n$/,
      ),
    });
    expect(fails(' '.repeat(9 * 1024 * 1024)).stderr).toMatch(/: the request is larger than 8 MiB\n$/);
    const handleRequest = (fields: Record<string, unknown>) =>
      fails(
        JSON.stringify({
          hoststore: 1,
          command: 'handle',
          args: ['storage', 'converge'],
          host: '10.0.0.1',
          env: {},
          ...fields,
        }),
      )
        .stderr.split('\n')
        .slice(1)
        .join('\n');
    expect(handleRequest({ args: ['storage', 'converge', '--x'] })).toBe(
      'hoststore: handle request: args must be [KIND, OP], two strings (got ["storage","converge","--x"])\n',
    );
    expect(handleRequest({ host: 'a b' })).toMatch(
      /^hoststore: handle request: host must be a DNS name .* \(got "a b"\)\n$/,
    );
    const bad = fails(
      JSON.stringify({
        hoststore: 1,
        command: 'handle',
        args: ['storage', 'converge'],
        host: '10.0.0.1',
        env: { PATH: '/tmp' },
      }),
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr.split('\n').slice(1)).toEqual([
      'hoststore: handle request: env may hold only HOSTSTORE_SPEC, HOSTSTORE_SPEC_<n>, HOSTSTORE_STACK and HOSTSTORE_PROJECT_NOW (got "PATH")',
      '',
    ]);
  });
  test('a handle request whose spec names no host is refused on the host, nothing converged', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-nohost-'));
    try {
      const spec = storageWire(root, { name: 'nohost' });
      const result = fails(
        JSON.stringify({
          hoststore: 1,
          command: 'handle',
          args: ['storage', 'converge'],
          host: '10.0.0.1',
          env: { HOSTSTORE_SPEC: JSON.stringify(spec) },
        }),
      );
      expect(result.status).toBe(2);
      expect(result.stderr.split('\n').slice(1)).toEqual([
        'hoststore: HOSTSTORE_SPEC is for the machine that runs the deploy (it names no host), but it reached host 10.0.0.1: nothing was done; run cdktf synth again and deploy the stack as synthesized',
        '',
      ]);
      expect(fs.readdirSync(root)).toEqual([]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
