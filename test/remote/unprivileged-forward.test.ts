/**
 * A remote project needs no root on the deploying side: an ordinary user (nobody, uid 65534) forwards its
 * handler calls to a host where they run as root.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NOBODY, repoForNobody, runAsNobody, type NobodyRepo } from '../helpers/nobody.js';
import { storageWire } from '../helpers/specs.js';
import { startSshHost, type SshHost } from '../helpers/sshd.js';

let host: SshHost;
let home: string;
let build: NobodyRepo | undefined;

beforeAll(async () => {
  host = await startSshHost({ clientOwner: NOBODY });
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-nobody-'));
  fs.chownSync(home, NOBODY.uid, NOBODY.gid);
  build = repoForNobody();
});
afterAll(async () => {
  build?.release();
  await host?.stop();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

function asNobody(kind: string, op: string, spec: unknown, env: Record<string, string> = {}) {
  return runAsNobody(process.execPath, [build!.cli, 'handle', kind, op], {
    // A CI runner's environment: its own HOME and runtime directory, no root anywhere.
    env: {
      PATH: process.env.PATH,
      HOME: home,
      XDG_RUNTIME_DIR: home,
      HOSTSTORE_HOST: JSON.stringify(host.connection),
      HOSTSTORE_SPEC: JSON.stringify(spec),
      ...env,
    },
  });
}

test('nobody converges and deletes a storage on a root host', () => {
  const spec = {
    ...storageWire(host.root, { name: 'by-nobody', removal_policy: 'destroy' }),
    host: host.connection.address,
  };
  const image = path.join(host.root, 'disks', 'by-nobody.img');
  const made = asNobody('storage', 'converge', spec);
  expect(made.stderr).toBe('');
  expect(made.status).toBe(0);
  expect(fs.statSync(image).uid).toBe(0);
  // The sockets and configs went to the user's own private directory.
  const control = path.join(home, 'hoststore-ssh');
  expect(fs.statSync(control).uid).toBe(NOBODY.uid);
  expect(fs.statSync(control).mode & 0o777).toBe(0o700);
  const identity = { kind: 'disk', root: host.root, project: 'app', name: 'by-nobody', host: host.connection.address };
  const deleted = asNobody('storage', 'delete', identity, { HOSTSTORE_STACK: 'test' });
  expect(deleted.stderr).toBe('');
  expect(deleted.status).toBe(0);
  expect(fs.existsSync(image)).toBe(false);
});
