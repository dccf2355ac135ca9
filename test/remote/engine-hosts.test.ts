/**
 * `hoststore plan | apply | destroy` and the read commands across hosts, against real OpenSSH: fake hosts
 * (test/helpers/sshd.ts) with roots of their own stand for storage machines. One host down: the other
 * converges, the failure is named in the summary and the exit status, and a rerun once it is back converges
 * it. A host without hoststore is reported at plan, before anything is applied.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, TerraformStack } from 'cdktf';
import { imagePath } from '../../src/schema.js';
import { Disk, Mount, StorageProject } from '../../src/index.js';
import type { HostConnection } from '../../src/host-connection.js';
import { spawnSync } from 'node:child_process';
import { CLI, hoststore, type CliResult } from '../helpers/cli.js';
import { NOBODY, repoForNobody, runAsNobody } from '../helpers/nobody.js';
import { cleanupRoot } from '../helpers/host-fixture.js';
import { startSshHost, type SshHost } from '../helpers/sshd.js';

/** A stack with one project per host (`local`: this machine), each one disk mounted for a service. */
function synthHosts(
  parts: ReadonlyArray<{
    project: string;
    root: string;
    host?: HostConnection;
    disk: string;
    sizeGb?: number;
    filesystem?: 'ext4' | 'xfs';
  }>,
): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-out-'));
  outs.push(outdir);
  const app = new App({ outdir });
  const stack = new TerraformStack(app, 'fleet');
  for (const part of parts) {
    const project = new StorageProject(stack, part.project, {
      root: part.root,
      ...(part.host ? { host: part.host } : {}),
    } as ConstructorParameters<typeof StorageProject>[2]);
    const disk = new Disk(project, part.disk, {
      name: part.disk,
      sizeGb: part.sizeGb ?? 1,
      ...(part.filesystem ? { filesystem: part.filesystem } : {}),
    });
    new Mount(project, `${part.disk}-mount`, { storage: disk, service: 'db', mountPath: '/data' });
  }
  app.synth();
  return outdir;
}

const outs: string[] = [];
const dirs: string[] = [];
const hosts: SshHost[] = [];
const ownRoots: string[] = [];

async function host(options: Parameters<typeof startSshHost>[0] = {}): Promise<SshHost> {
  const started = await startSshHost(options);
  hosts.push(started);
  return started;
}

/** A root of the test's own (kept when its host's sshd stops, as a machine's disk outlives its network). */
function ownRoot(): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-remote-root-')));
  ownRoots.push(dir);
  return dir;
}

afterAll(async () => {
  const problems: unknown[] = [];
  for (const h of hosts.splice(0)) await h.stop().catch((e: unknown) => problems.push(e));
  for (const root of ownRoots.splice(0)) {
    try {
      cleanupRoot(root);
    } catch (error) {
      problems.push(error);
    }
  }
  for (const dir of [...outs.splice(0), ...dirs.splice(0)]) fs.rmSync(dir, { recursive: true, force: true });
  if (problems.length > 0) throw problems[0];
});

const imageOf = (root: string, project: string, disk: string) => imagePath(root, 'disk', project, disk);
const escaped = (address: string) => address.replace(/\./g, '\\.');
const text = (r: CliResult) => `${r.stdout}\n${r.stderr}`;

test('apply across two hosts with one down: the other converges, the failure is named; a rerun after it is back converges it', async () => {
  // GIVEN two hosts, the second one's sshd stopped (its root and data stay)
  const a = await host();
  const bRoot = ownRoot();
  const b = await host({ root: bRoot });
  const bAddress = b.connection.address;
  await b.stop();
  const out = synthHosts([
    { project: 'shop-a', root: a.root, host: a.connection, disk: 'a1' },
    { project: 'shop-b', root: bRoot, host: b.connection, disk: 'b1' },
  ]);

  // WHEN applying to both
  const first = hoststore(['apply', '--app', out, '--auto-approve']);

  // THEN a converged, b is named as failed in the summary and the exit status
  expect(first.status).toBe(1);
  expect(fs.existsSync(imageOf(a.root, 'shop-a', 'a1'))).toBe(true);
  expect(fs.existsSync(imageOf(bRoot, 'shop-b', 'b1'))).toBe(false);
  expect(first.stdout).toContain(`host ${a.connection.address}:`);
  expect(first.stdout).toMatch(
    new RegExp(`^${a.connection.address.replace(/\./g, '\\.')}: 2 changed, 0 unchanged$`, 'm'),
  );
  expect(first.stdout).toMatch(new RegExp(`^${bAddress.replace(/\./g, '\\.')}: failed: .+`, 'm'));
  expect(first.stderr).toContain(`${bAddress} (failed)`);

  // WHEN b is back (same address and root; a new port and keys, so a new synth) and apply runs again
  const b2 = await host({ address: bAddress, root: bRoot });
  const out2 = synthHosts([
    { project: 'shop-a', root: a.root, host: a.connection, disk: 'a1' },
    { project: 'shop-b', root: bRoot, host: b2.connection, disk: 'b1' },
  ]);
  const second = hoststore(['apply', '--app', out2, '--auto-approve']);

  // THEN b converges, a has nothing to do
  expect({ status: second.status, output: text(second) }).toEqual({ status: 0, output: expect.any(String) });
  expect(fs.existsSync(imageOf(bRoot, 'shop-b', 'b1'))).toBe(true);
  expect(second.stdout).toMatch(
    new RegExp(`^${a.connection.address.replace(/\./g, '\\.')}: 0 changed, 2 unchanged$`, 'm'),
  );
  expect(second.stdout).toMatch(new RegExp(`^${bAddress.replace(/\./g, '\\.')}: 2 changed, 0 unchanged$`, 'm'));

  // AND a plan of both shows no changes on either
  const plan = hoststore(['plan', '--app', out2, '--detailed-exitcode']);
  expect({ status: plan.status, output: text(plan) }).toEqual({ status: 0, output: expect.any(String) });

  // WHEN a's disk grows and b's asks for another filesystem (refused: it would reformat the data)
  const out3 = synthHosts([
    { project: 'shop-a', root: a.root, host: a.connection, disk: 'a1', sizeGb: 2 },
    { project: 'shop-b', root: bRoot, host: b2.connection, disk: 'b1', filesystem: 'xfs' },
  ]);
  const third = hoststore(['apply', '--app', out3, '--auto-approve']);

  // THEN a grows, b refuses with its reason in full, and the exit status is a refusal's (3) naming b
  expect(third.status).toBe(3);
  expect(fs.statSync(imageOf(a.root, 'shop-a', 'a1')).size).toBe(2 * 1024 ** 3);
  expect(third.stdout).toMatch(new RegExp(`^${escaped(a.connection.address)}: 1 changed, 1 unchanged$`, 'm'));
  expect(third.stdout).toMatch(new RegExp(`^${escaped(bAddress)}: refused: the plan has refused changes`, 'm'));
  expect(third.stderr).toMatch(
    new RegExp(
      `^hoststore: ${escaped(bAddress)}: the plan has refused changes, so nothing was applied:\n  disk b1: .+`,
      'm',
    ),
  );
  expect(third.stderr).toContain(`${bAddress} (refused)`);

  // AND --host narrows a destroy to one host (retain: the data stays)
  const destroy = hoststore(['destroy', '--app', out2, '--auto-approve', '--host', bAddress]);
  expect({ status: destroy.status, output: text(destroy) }).toEqual({ status: 0, output: expect.any(String) });
  expect(destroy.stdout).toContain(`${bAddress}: destroyed, 1 retained`);
  expect(destroy.stdout).not.toContain(`${a.connection.address}:`);
});

test('plan reports a host without hoststore, with the command that installs it, before anything is applied', async () => {
  // GIVEN a host with hoststore and one without
  const a = await host();
  const bare = await host({ withHoststore: false });
  const out = synthHosts([
    { project: 'shop-a', root: a.root, host: a.connection, disk: 'a2' },
    { project: 'shop-c', root: bare.root, host: bare.connection, disk: 'c1' },
  ]);

  // WHEN planning
  const plan = hoststore(['plan', '--app', out]);

  // THEN the bare host is named with the install command; nothing was made on either host
  expect(plan.status).toBe(1);
  expect(plan.stdout).toMatch(
    new RegExp(`^${bare.connection.address.replace(/\./g, '\\.')}: failed: .*npm install -g cdktf-hoststore@`, 'm'),
  );
  expect(plan.stdout).toMatch(
    new RegExp(`^${a.connection.address.replace(/\./g, '\\.')}: 2 to change, 0 unchanged$`, 'm'),
  );
  expect(fs.existsSync(imageOf(a.root, 'shop-a', 'a2'))).toBe(false);
  expect(fs.existsSync(imageOf(bare.root, 'shop-c', 'c1'))).toBe(false);

  // AND as JSON: one entry per host, its plan or its error
  const json = hoststore(['plan', '--app', out, '--format', 'json']);
  expect(json.status).toBe(1);
  const entries = JSON.parse(json.stdout) as Array<{ host: string; plan?: { items: unknown[] }; error?: string }>;
  expect(
    entries.map((e) => [e.host, e.plan?.items.length, e.error?.includes('npm install -g cdktf-hoststore@')]),
  ).toEqual([
    [a.connection.address, 2, undefined],
    [bare.connection.address, undefined, true],
  ]);

  // AND apply without a terminal to confirm on asks for --auto-approve and applies nothing anywhere
  const unconfirmed = hoststore(['apply', '--app', out]);
  expect(unconfirmed.status).toBe(2);
  expect(unconfirmed.stderr).toMatch(/no terminal to confirm on; pass --auto-approve to proceed/);
  expect(fs.existsSync(imageOf(a.root, 'shop-a', 'a2'))).toBe(false);

  // AND --out is refused for remote hosts, in one line
  const saved = hoststore(['plan', '--app', out, '--out', path.join(os.tmpdir(), 'never.hoststore')]);
  expect(saved.status).toBe(2);
  expect(saved.stderr).toMatch(/^hoststore: --out saves a plan of this machine only.*\n$/);
});

test('read commands across two hosts: a host heading in text, host on each --json item, --host narrows', async () => {
  // GIVEN an app (cdktf.json, synth output in cdktf.out) with one project on each of two hosts, applied
  const a = await host();
  const b = await host();
  const appDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-app-'));
  dirs.push(appDir);
  fs.writeFileSync(path.join(appDir, 'cdktf.json'), JSON.stringify({ language: 'typescript', app: 'true' }));
  const out = synthHosts([
    { project: 'shop-a', root: a.root, host: a.connection, disk: 'ra' },
    { project: 'shop-b', root: b.root, host: b.connection, disk: 'rb' },
  ]);
  fs.renameSync(out, path.join(appDir, 'cdktf.out'));
  const apply = hoststore(['apply', '--app', path.join(appDir, 'cdktf.out'), '--auto-approve']);
  expect({ status: apply.status, output: text(apply) }).toEqual({ status: 0, output: expect.any(String) });
  const run = (...args: string[]) => runIn(appDir, args);

  // WHEN listing as JSON
  const list = run('list', '--json');
  expect({ status: list.status, stderr: list.stderr }).toEqual({ status: 0, stderr: '' });
  const items = JSON.parse(list.stdout) as Array<{ host: string; name: string; root: string }>;
  expect(items.map((i) => [i.host, i.name, i.root]).sort()).toEqual(
    [
      [a.connection.address, 'ra', a.root],
      [b.connection.address, 'rb', b.root],
    ].sort(),
  );

  // THEN text has one heading per host
  const listText = run('list');
  expect(listText.stdout).toContain(`host ${a.connection.address}:`);
  expect(listText.stdout).toContain(`host ${b.connection.address}:`);

  // AND --host narrows; status finds the one host holding a name; lease-list and snapshot list answer too
  const narrowed = JSON.parse(run('list', '--json', '--host', b.connection.address).stdout) as Array<{ host: string }>;
  expect(narrowed.map((i) => i.host)).toEqual([b.connection.address]);
  const status = run('status', 'rb', '--json');
  expect(status.status).toBe(0);
  expect(JSON.parse(status.stdout)).toMatchObject({ host: b.connection.address, name: 'rb' });
  const leases = JSON.parse(run('lease-list', '--json').stdout) as Array<{ host: string; disk: string }>;
  expect(leases.map((l) => [l.host, l.disk]).sort()).toEqual(
    [
      [a.connection.address, 'ra'],
      [b.connection.address, 'rb'],
    ].sort(),
  );
  const snapshots = run('snapshot', 'list', '--json');
  expect({ status: snapshots.status, stdout: JSON.parse(snapshots.stdout) }).toEqual({ status: 0, stdout: [] });
  // history: each host's journal, its events labelled with the host (and root), text under host headings
  const history = run('history', '--json');
  expect(history.status).toBe(0);
  const events = JSON.parse(history.stdout) as Array<{ host: string; root: string; storage: string; event: string }>;
  expect(
    events
      .filter((e) => e.event === 'created')
      .map((e) => [e.host, e.root, e.storage])
      .sort(),
  ).toEqual(
    [
      [a.connection.address, a.root, 'ra'],
      [b.connection.address, b.root, 'rb'],
    ].sort(),
  );
  expect(run('history', 'rb').stdout).toMatch(new RegExp(`host ${a.connection.address}:\\nno events for rb under`));
  const unknown = run('list', '--host', 'storage-9.internal');
  expect(unknown.status).toBe(2);
  expect(unknown.stderr).toMatch(/--host storage-9.internal is not a host this synth output declares/);
});

/** The built CLI run in `cwd` (a cdktf app) with no HOSTSTORE_ROOT, as a user inside their app runs it. */
function runIn(cwd: string, args: string[]): CliResult {
  const env = { ...process.env };
  delete env.HOSTSTORE_ROOT;
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('an ordinary user (nobody) plans and applies on a root host: no root on the deploying side', async () => {
  // GIVEN a host whose client key and known_hosts nobody owns, and a synth output nobody may read
  const h = await host({ clientOwner: NOBODY });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-nobody-'));
  dirs.push(home);
  fs.chownSync(home, NOBODY.uid, NOBODY.gid);
  const out = synthHosts([{ project: 'shop-n', root: h.root, host: h.connection, disk: 'n1' }]);
  for (const p of [out, ...fs.readdirSync(out, { recursive: true }).map((f) => path.join(out, String(f)))])
    fs.chmodSync(p, fs.statSync(p).isDirectory() ? 0o755 : 0o644);
  const build = repoForNobody();
  try {
    const asNobody = (...args: string[]) => {
      const r = runAsNobody(process.execPath, [build.cli, ...args], {
        env: { PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: home },
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };

    // WHEN nobody applies
    const applied = asNobody('apply', '--app', out, '--auto-approve');

    // THEN the host has the disk, made by root there; a plan as nobody shows nothing left to do
    expect({ status: applied.status, stderr: applied.stderr }).toEqual({ status: 0, stderr: '' });
    expect(fs.statSync(imageOf(h.root, 'shop-n', 'n1')).uid).toBe(0);
    const planned = asNobody('plan', '--app', out, '--detailed-exitcode');
    expect({ status: planned.status, stderr: planned.stderr }).toEqual({ status: 0, stderr: '' });
    expect(planned.stdout).toContain(`${h.connection.address}: 0 to change, 2 unchanged`);
  } finally {
    build.release();
  }
});
