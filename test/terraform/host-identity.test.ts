/**
 * The host is part of every identity (issue 12), as real Terraform sees it: moving a project to another host
 * (or back to this machine) replaces every identity carrier (`-/+`) and the project's retirement, whose
 * destroy-time provisioner runs with the NEW config's HOSTSTORE_HOST and the OLD identity (its `host`), which
 * is how the handler tells a move from a destroy. A key rotation changes nothing. The CLI here is a logging stub: no host is touched.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, LocalBackend, TerraformStack } from 'cdktf';
import { Mount, SnapshotPolicy, StorageProject, Volume, type HostProps } from '../../src/index.js';
import { terraformAvailable } from '../helpers/cdktf-app.js';
import { terraformIn } from '../helpers/terraform.js';

const haveTerraform = terraformAvailable();
if (!haveTerraform) process.stderr.write('skipping the host identity test: terraform is not on the PATH\n');
const terraformTest = haveTerraform ? test : test.skip;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-host-identity-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A CLI that only logs each call: its arguments, HOSTSTORE_HOST and HOSTSTORE_SPEC, one tab-separated line. */
function loggingStub(): { path: string; calls(): Array<{ args: string; host: string; spec: any }> } {
  const log = path.join(dir, 'calls.log');
  const stub = path.join(dir, 'hoststore-stub');
  fs.writeFileSync(
    stub,
    `#!/bin/sh\nprintf '%s\\t%s\\t%s\\n' "$*" "\${HOSTSTORE_HOST-none}" "$HOSTSTORE_SPEC" >> '${log}'\n`,
    { mode: 0o755 },
  );
  return {
    path: stub,
    calls: () => {
      const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
      fs.rmSync(log, { force: true });
      return lines.map((line) => {
        const [args, host, spec] = line.split('\t');
        return { args, host, spec: JSON.parse(spec) };
      });
    },
  };
}

/** Synthesizes stack `shop` (project `shop` on `host`) into the same output directory each time. */
function synthShop(cli: string, host: HostProps | undefined): string {
  const outdir = path.join(dir, 'cdktf.out');
  const app = new App({ outdir });
  const stack = new TerraformStack(app, 'shop');
  // The state in the test's own directory (the default is the working directory of the test run).
  new LocalBackend(stack, { path: path.join(dir, 'terraform.tfstate') });
  const project = new StorageProject(stack, 'shop', { root: '/srv/hoststore-never-touched', cli, host });
  const db = new Volume(project, 'db', { sizeGb: 2, shared: true });
  new Mount(project, 'db-mount', { storage: db, service: 'web', mountPath: '/data' });
  new SnapshotPolicy(project, 'nightly', { storage: db, schedule: '0 4 * * *' });
  app.synth();
  return path.join(outdir, 'stacks', 'shop');
}

const ONE = { address: 'storage-1.internal', identityFile: '/ci/keys/one' };
const ONE_JSON = '{"address":"storage-1.internal","user":"root","port":22,"identityFile":"/ci/keys/one"}';
const TWO_JSON = '{"address":"storage-2.internal","user":"root","port":22}';

terraformTest(
  'a host change is -/+ on every identity; the retirement runs with the new HOSTSTORE_HOST and the old identity; a key rotation is no change',
  () => {
    const cli = loggingStub();
    const stackDir = synthShop(cli.path, ONE);
    const terraform = terraformIn(dir, stackDir);
    expect(terraform.run(['init', '-input=false'])).toMatchObject({ status: 0 });
    const first = terraform.run(['apply', '-auto-approve', '-input=false']);
    expect(first.status).toBe(0);
    expect(cli.calls().map((c) => [c.args, c.host])).toEqual([['handle project converge', ONE_JSON]]);

    // WHEN the key file, user and port change: nothing in the state changes, nothing runs
    synthShop(cli.path, { ...ONE, identityFile: '/ci/keys/rotated', user: 'deploy', port: 2222 });
    expect(terraform.plannedChanges().filter((c) => c.actions.join() !== 'no-op')).toEqual([]);

    // WHEN the project moves to another host: every identity is replaced (and the manifest and retirement)
    synthShop(cli.path, { address: 'storage-2.internal' });
    const planned = terraform.plannedChanges();
    expect(planned.map((c) => [c.name.replace(/_[0-9A-F]{8}$/, ''), c.actions.join('/')]).sort()).toEqual([
      ['shop_db-mount_identity-1', 'delete/create'],
      ['shop_db_identity', 'delete/create'],
      ['shop_manifest', 'delete/create'],
      ['shop_nightly_identity', 'delete/create'],
      ['shop_retirement', 'delete/create'],
    ]);
    for (const c of planned)
      expect([c.name, c.before.triggers_replace.host, c.after.triggers_replace.host]).toEqual([
        c.name,
        'storage-1.internal',
        'storage-2.internal',
      ]);
    const moved = terraform.run(['apply', '-auto-approve', '-input=false']);
    expect(moved.status).toBe(0);
    const calls = cli.calls();
    // THEN the retirement gets the old identity (host storage-1) with the new config's connection (storage-2)
    expect(calls.filter((c) => c.args.endsWith(' delete')).map((c) => [c.args, c.host, c.spec.host])).toEqual([
      ['handle project delete', TWO_JSON, 'storage-1.internal'],
    ]);
    expect(calls.filter((c) => c.args.endsWith(' converge')).map((c) => [c.args, c.host, c.spec.host])).toEqual([
      ['handle project converge', TWO_JSON, 'storage-2.internal'],
    ]);

    // WHEN it moves back to this machine: replaced again; the retirement gets no HOSTSTORE_HOST and the old host
    synthShop(cli.path, undefined);
    expect(terraform.plannedChanges().map((c) => c.actions.join('/'))).toEqual(Array(5).fill('delete/create'));
    expect(terraform.run(['apply', '-auto-approve', '-input=false']).status).toBe(0);
    const back = cli.calls();
    expect(back.filter((c) => c.args.endsWith(' delete')).map((c) => [c.host, c.spec.host])).toEqual([
      ['none', 'storage-2.internal'],
    ]);
    expect(back.find((c) => c.args.endsWith(' converge'))?.spec).not.toHaveProperty('host');
  },
);
