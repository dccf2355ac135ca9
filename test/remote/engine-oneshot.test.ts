/**
 * `hoststore apply --auto-approve` across hosts, against real OpenSSH (test/helpers/sshd.ts): each remote
 * host gets ONE request (counted by a logging `hoststore` on the host's PATH) that plans and applies there;
 * a host that is down or has no hoststore is named and the others converge; a refused or undeclared
 * data-loss change applies nothing on its host.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, TerraformStack } from 'cdktf';
import { imagePath } from '../../src/schema.js';
import { Disk, Mount, StorageProject } from '../../src/index.js';
import type { HostConnection } from '../../src/host-connection.js';
import { CLI, hoststore, type CliResult } from '../helpers/cli.js';
import { startSshHost, type SshHost } from '../helpers/sshd.js';

interface DiskPart {
  readonly name: string;
  readonly sizeGb?: number;
  readonly removalPolicy?: 'retain' | 'destroy';
  readonly filesystem?: 'ext4' | 'xfs';
}

/** A stack with one project per host, each with its disks mounted for a service. */
function synthHosts(parts: ReadonlyArray<{ project: string; root: string; host: HostConnection; disks: DiskPart[] }>) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-out-'));
  outs.push(outdir);
  const app = new App({ outdir });
  const stack = new TerraformStack(app, 'oneshot');
  for (const part of parts) {
    const project = new StorageProject(stack, part.project, { root: part.root, host: part.host });
    for (const d of part.disks) {
      const disk = new Disk(project, d.name, {
        name: d.name,
        sizeGb: d.sizeGb ?? 1,
        ...(d.removalPolicy ? { removalPolicy: d.removalPolicy } : {}),
        ...(d.filesystem ? { filesystem: d.filesystem } : {}),
      });
      new Mount(project, `${d.name}-mount`, { storage: disk, service: `svc-${d.name}`, mountPath: '/data' });
    }
  }
  app.synth();
  return outdir;
}

const outs: string[] = [];
const hosts: SshHost[] = [];

/** A fake host whose `hoststore` logs each invocation's arguments (one line) before running the real CLI. */
async function countedHost(options: Parameters<typeof startSshHost>[0] = {}) {
  const h = await startSshHost(options);
  hosts.push(h);
  const calls = path.join(h.dir, 'hoststore-calls.log');
  if (options.withHoststore !== false)
    fs.writeFileSync(
      path.join(h.binDir, 'hoststore'),
      `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${process.execPath}' '${CLI}' "$@"\n`,
      { mode: 0o755 },
    );
  return {
    host: h,
    /** How many `hoststore remote` ran on the host since the last call. */
    requests(): number {
      if (!fs.existsSync(calls)) return 0;
      const n = fs
        .readFileSync(calls, 'utf8')
        .split('\n')
        .filter((l) => l === 'remote').length;
      fs.rmSync(calls);
      return n;
    },
  };
}

afterAll(async () => {
  const problems: unknown[] = [];
  for (const h of hosts.splice(0)) await h.stop().catch((e: unknown) => problems.push(e));
  for (const dir of outs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  if (problems.length > 0) throw problems[0];
});

const imageOf = (root: string, project: string, disk: string) => imagePath(root, 'disk', project, disk);
const escaped = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const text = (r: CliResult) => `${r.stdout}\n${r.stderr}`;

test('apply --auto-approve: one request per host plans and applies there; a host down or without hoststore is named, the other converges', async () => {
  // GIVEN a host, one whose sshd is stopped, and one without hoststore
  const a = await countedHost();
  const down = await countedHost();
  await down.host.stop();
  const bare = await countedHost({ withHoststore: false });
  const [aAddr, downAddr, bareAddr] = [a.host, down.host, bare.host].map((h) => h.connection.address);
  const out = synthHosts([
    { project: 'shop-a', root: a.host.root, host: a.host.connection, disks: [{ name: 'a1' }, { name: 'a2' }] },
    { project: 'shop-d', root: down.host.root, host: down.host.connection, disks: [{ name: 'd1' }] },
    { project: 'shop-c', root: bare.host.root, host: bare.host.connection, disks: [{ name: 'c1' }] },
  ]);

  // WHEN applying with --auto-approve
  const first = hoststore(['apply', '--app', out, '--auto-approve']);

  // THEN a converged with ONE request (planned and applied in it), its plan and log under its heading
  expect(a.requests()).toBe(1);
  expect(first.status).toBe(1);
  expect(fs.existsSync(imageOf(a.host.root, 'shop-a', 'a1'))).toBe(true);
  expect(fs.existsSync(imageOf(a.host.root, 'shop-a', 'a2'))).toBe(true);
  expect(first.stdout).toMatch(new RegExp(`^host ${escaped(aAddr)}:\\n(.*\\n)*.*create +disk a1`, 'm'));
  expect(first.stdout).toMatch(new RegExp(`^${escaped(aAddr)}: \\[\\d+/\\d+\\] create disk a1: done in \\d+ ms$`, 'm'));
  expect(first.stdout).toMatch(/^Apply finished in \d+ ms\.$/m);
  expect(first.stdout).toMatch(new RegExp(`^${escaped(aAddr)}: 4 changed, 0 unchanged$`, 'm'));

  // AND the host that is down and the one without hoststore are each named in one line, nothing made there
  expect(first.stdout).toMatch(new RegExp(`^host ${escaped(downAddr)}:\\nfailed: .+$`, 'm'));
  expect(first.stdout).toMatch(new RegExp(`^${escaped(downAddr)}: failed: .+$`, 'm'));
  expect(first.stdout).toMatch(
    new RegExp(`^${escaped(bareAddr)}: failed: .*npm install -g cdktf-hoststore@\\S+.*$`, 'm'),
  );
  expect(fs.existsSync(imageOf(bare.host.root, 'shop-c', 'c1'))).toBe(false);
  expect(first.stderr).toContain(
    `the apply did not succeed on 2 of 3 hosts: ${downAddr} (failed), ${bareAddr} (failed)`,
  );

  // WHEN applied again to a alone (nothing to change)
  const again = hoststore(['apply', '--app', out, '--auto-approve', '--host', aAddr]);

  // THEN one request again, and nothing changed
  expect({ status: again.status, output: text(again) }).toEqual({ status: 0, output: expect.any(String) });
  expect(a.requests()).toBe(1);
  expect(again.stdout).toMatch(new RegExp(`^${escaped(aAddr)}: 0 changed, 4 unchanged$`, 'm'));
  expect(again.stdout).not.toContain('Apply finished');
});

test('apply --auto-approve: a refused or undeclared data-loss change applies nothing on its host, in one request', async () => {
  // GIVEN a host with two disks, one with removal policy destroy
  const b = await countedHost();
  const { root } = b.host;
  const synth = (disks: DiskPart[]) => synthHosts([{ project: 'shop-b', root, host: b.host.connection, disks }]);
  const applied = hoststore([
    'apply',
    '--app',
    synth([{ name: 'keep' }, { name: 'gone', removalPolicy: 'destroy' }]),
    '--auto-approve',
  ]);
  expect({ status: applied.status, output: text(applied) }).toEqual({ status: 0, output: expect.any(String) });
  expect(b.requests()).toBe(1);

  // WHEN `gone` leaves the code (its data would be deleted) and `keep` grows, without --allow-data-loss
  const without = synth([{ name: 'keep', sizeGb: 2 }]);
  const refused = hoststore(['apply', '--app', without, '--auto-approve']);

  // THEN nothing is applied there: gone is kept, keep is not grown; the plan is shown, the reason is in full
  expect(b.requests()).toBe(1);
  expect(refused.status).toBe(3);
  expect(fs.existsSync(imageOf(root, 'shop-b', 'gone'))).toBe(true);
  expect(fs.statSync(imageOf(root, 'shop-b', 'keep')).size).toBe(1024 ** 3);
  expect(refused.stdout).toMatch(/- delete +disk gone +\[data-loss\]/);
  expect(refused.stderr).toMatch(
    new RegExp(
      `^hoststore: ${escaped(b.host.connection.address)}: the plan loses data, so nothing was applied;.*\\n +disk gone \\(--allow-data-loss gone\\)`,
      'm',
    ),
  );
  expect(refused.stdout).toMatch(
    new RegExp(`^${escaped(b.host.connection.address)}: refused: the plan loses data, so nothing was applied`, 'm'),
  );
  expect(refused.stdout).not.toContain('Apply finished');

  // WHEN keep's filesystem changes too (refused: a reformat), with the data loss declared
  const reformat = hoststore([
    'apply',
    '--app',
    synth([{ name: 'keep', sizeGb: 2, filesystem: 'xfs' }]),
    '--auto-approve',
    '--allow-data-loss',
    'gone',
  ]);

  // THEN nothing is applied there either
  expect(b.requests()).toBe(1);
  expect(reformat.status).toBe(3);
  expect(reformat.stderr).toMatch(
    new RegExp(
      `^hoststore: ${escaped(b.host.connection.address)}: the plan has refused changes, so nothing was applied:\\n  disk keep: .+`,
      'm',
    ),
  );
  expect(fs.existsSync(imageOf(root, 'shop-b', 'gone'))).toBe(true);
  expect(fs.statSync(imageOf(root, 'shop-b', 'keep')).size).toBe(1024 ** 3);

  // WHEN the data loss is declared
  const allowed = hoststore(['apply', '--app', without, '--auto-approve', '--allow-data-loss', 'gone']);

  // THEN both apply, in one request
  expect({ status: allowed.status, output: text(allowed) }).toEqual({ status: 0, output: expect.any(String) });
  expect(b.requests()).toBe(1);
  expect(fs.existsSync(imageOf(root, 'shop-b', 'gone'))).toBe(false);
  expect(fs.statSync(imageOf(root, 'shop-b', 'keep')).size).toBe(2 * 1024 ** 3);
});

test('apply --auto-approve to a host whose hoststore predates plan-apply: one line naming it and the install command', async () => {
  // GIVEN a host whose hoststore answers an engine request as one without plan-apply does
  const old = await countedHost();
  const answer = {
    hoststoreEngine: 1,
    log: [],
    error: {
      message: 'engine request: op must be one of plan, apply, destroy-check, destroy (got "plan-apply")',
      exitCode: 2,
    },
  };
  fs.writeFileSync(
    path.join(old.host.binDir, 'hoststore'),
    `#!/bin/sh\ncat > /dev/null\necho '${JSON.stringify(answer)}'\nexit 2\n`,
    { mode: 0o755 },
  );
  const address = old.host.connection.address;
  const out = synthHosts([
    { project: 'shop-o', root: old.host.root, host: old.host.connection, disks: [{ name: 'o1' }] },
  ]);

  // WHEN applying with --auto-approve
  const r = hoststore(['apply', '--app', out, '--auto-approve']);

  // THEN it is named as incompatible, with the command that installs this version there; nothing made
  expect(r.status).toBe(1);
  expect(r.stdout).toMatch(
    new RegExp(
      `^${escaped(address)}: failed: host .*${escaped(address)}.*: its hoststore is older than this one \\(it has no plan-apply\\); nothing was done there; install the same version on the host: npm install -g cdktf-hoststore@\\S+$`,
      'm',
    ),
  );
  expect(fs.existsSync(imageOf(old.host.root, 'shop-o', 'o1'))).toBe(false);
});
