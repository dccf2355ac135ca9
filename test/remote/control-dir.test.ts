/**
 * The private directory of ssh's configs and sockets: made 0700 for the caller, refused when it is a
 * planted symlink, another user's, or open to others; and a hand-made HOSTSTORE_HOST never reaches ssh_config.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI } from '../helpers/cli.js';
import { sshConfigText } from '../../provider/remote/ssh-config.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-ctl-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

// Port 9 of a loopback address nothing listens on: a call that got as far as ssh fails to connect.
const connection = { address: '127.0.0.254', user: 'root', port: 9 };
const spec = { kind: 'disk', root: '/srv/x', project: 'app', name: 'd', host: connection.address };

function forward(env: Record<string, string>) {
  return spawnSync(process.execPath, [CLI, 'handle', 'storage', 'delete'], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      XDG_RUNTIME_DIR: dir,
      HOSTSTORE_HOST: JSON.stringify(connection),
      HOSTSTORE_SPEC: JSON.stringify(spec),
      ...env,
    },
  });
}

test('made 0700 for the caller; an unreachable host is one line', () => {
  const result = forward({});
  expect(result.stderr).toMatch(
    /^hoststore: host root@127\.0\.0\.254:9 is unreachable over ssh: ssh: connect to host 127\.0\.0\.254 port 9: Connection refused; check the address, port, user and key \(identityFile\), and that sshd runs there\n$/,
  );
  expect(result.status).toBe(1);
  const control = path.join(dir, 'hoststore-ssh');
  expect(fs.lstatSync(control).mode & 0o777).toBe(0o700);
  const configs = fs.readdirSync(control).filter((f) => f.endsWith('.conf'));
  expect(configs).toHaveLength(1);
  expect(fs.statSync(path.join(control, configs[0])).mode & 0o777).toBe(0o600);
});

test.each([
  [
    'a symlink',
    (control: string) => fs.symlinkSync(fs.mkdtempSync(path.join(dir, 'elsewhere-')), control),
    'is a symlink',
  ],
  [
    "another user's",
    (control: string) => (fs.mkdirSync(control, { mode: 0o700 }), fs.chownSync(control, 65534, 65534)),
    'belongs to uid 65534, not to you (uid 0)',
  ],
  [
    'open to others',
    (control: string) => (fs.mkdirSync(control), fs.chmodSync(control, 0o755)),
    'has mode 755, which lets others in (must be 700)',
  ],
])('a directory that is %s is refused in one line, and nothing is written into it', (_what, plant, why) => {
  const control = path.join(dir, 'hoststore-ssh');
  plant(control);
  const result = forward({});
  expect(result.stderr).toBe(
    `hoststore: ${control} ${why}, so hoststore will not keep its ssh connections there (others could use or watch them); remove it, or set XDG_RUNTIME_DIR or TMPDIR to a directory of your own\n`,
  );
  expect(result.status).toBe(3);
  expect(fs.readdirSync(control)).toEqual([]);
});

test('a hand-made HOSTSTORE_HOST with a newline never becomes an ssh option', () => {
  const marker = path.join(dir, 'pwned');
  const result = forward({
    HOSTSTORE_HOST: JSON.stringify({ ...connection, address: `127.0.0.254\nProxyCommand touch ${marker}` }),
  });
  expect(result.status).toBe(2);
  expect(result.stderr.split('\n')).toHaveLength(2);
  expect(result.stderr).toMatch(/^hoststore: HOSTSTORE_HOST address must be a DNS name/);
  expect(fs.existsSync(marker)).toBe(false);
  expect(fs.existsSync(path.join(dir, 'hoststore-ssh'))).toBe(false);
});

test('the config checks host keys, never prompts, shares connections, and names no key when none is given', () => {
  const text = sshConfigText({ ...connection, knownHostsFile: '/ci/known_hosts' }, '/run/x/h.sock');
  expect(text).toContain('\n  StrictHostKeyChecking yes\n');
  expect(text).toContain('\n  BatchMode yes\n');
  expect(text).toContain('\n  ControlMaster auto\n  ControlPath /run/x/h.sock\n  ControlPersist 60\n');
  // Pinned: only that file, not also the system's (/etc/ssh/ssh_known_hosts), whose keys ssh would accept as well.
  expect(text).toContain('\n  UserKnownHostsFile /ci/known_hosts\n  GlobalKnownHostsFile /dev/null\n');
  expect(text).not.toContain('IdentityFile');
  expect(text).not.toContain('IdentitiesOnly');
  const keyed = sshConfigText({ ...connection, identityFile: '/ci/keys/storage' }, '/run/x/h.sock');
  expect(keyed).toContain('\n  IdentityFile /ci/keys/storage\n  IdentitiesOnly yes\n');
  expect(keyed).not.toContain('UserKnownHostsFile');
  expect(keyed).not.toContain('GlobalKnownHostsFile');
});

test('no ssh client: one line saying what to install', () => {
  const result = forward({ PATH: '/nonexistent' });
  expect(result.stderr).toBe(
    'hoststore: ssh (the OpenSSH client) is not installed, and hoststore reaches remote hosts through it: apt-get install openssh-client\n',
  );
  expect(result.status).toBe(1);
});

test('a runtime directory another user controls is passed over for the temp directory', () => {
  const theirs = path.join(dir, 'theirs');
  fs.mkdirSync(theirs, { mode: 0o777 });
  fs.chownSync(theirs, 65534, 65534);
  const tmp = path.join(dir, 'tmp');
  fs.mkdirSync(tmp, { mode: 0o700 });
  const result = forward({ XDG_RUNTIME_DIR: theirs, TMPDIR: tmp });
  expect(result.stderr).toMatch(/is unreachable over ssh/);
  expect(fs.readdirSync(theirs)).toEqual([]);
  expect(fs.readdirSync(path.join(tmp, 'hoststore-ssh-0')).filter((f) => f.endsWith('.conf'))).toHaveLength(1);
});

test.each([
  ['a space', 'my run'],
  ['a % (an ssh_config token)', 'run%d'],
  ['a $ (an ssh_config variable)', 'run${HOME}'],
])('a runtime directory whose path has %s is passed over: ssh_config would misread it', (_what, name) => {
  const runtime = path.join(dir, name);
  fs.mkdirSync(runtime, { mode: 0o700 });
  const tmp = path.join(dir, 'tmp');
  fs.mkdirSync(tmp, { mode: 0o700 });
  const result = forward({ XDG_RUNTIME_DIR: runtime, TMPDIR: tmp });
  expect(result.stderr).toMatch(/^hoststore: host root@127\.0\.0\.254:9 is unreachable over ssh: ssh: connect to host/);
  expect(fs.readdirSync(runtime)).toEqual([]);
  expect(fs.readdirSync(path.join(tmp, 'hoststore-ssh-0')).filter((f) => f.endsWith('.conf'))).toHaveLength(1);
});
