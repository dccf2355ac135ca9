/**
 * A stack deployed with the carriers of v0.1 (an identity and a config carrier per thing; the fixture is
 * that build's synth output, root and CLI put back in) and deployed again with today's rendering: identity
 * carriers are updated in place (never replaced: that would run deletes), config carriers destroyed with no
 * effect, the manifest replaced and converging to a no-op, and the data kept.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { replicaHostPath } from '../../src/schema.js';
import { journalPath } from '../../provider/registry/journal.js';
import { readMountTable } from '../../provider/host/mounts.js';
import { hostTest, makeHostFixture } from '../helpers/host-fixture.js';
import { CdktfApp, terraformAvailable, type AppModel } from '../helpers/cdktf-app.js';
import { hoststore, loggingCli } from '../helpers/cli.js';
import { terraformIn } from '../helpers/terraform.js';

const haveTerraform = terraformAvailable();
if (!haveTerraform) process.stderr.write('skipping the carrier upgrade test: terraform is not on the PATH\n');
const deployTest = haveTerraform ? hostTest() : test.skip;

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'upgrade-from-v0.1.tf.json');
// What the fixture was synthesized with, replaced by this test's root and wrapper CLI.
const FIXTURE_ROOT = '/srv/hoststore-fixture-root';
const FIXTURE_CLI = '/opt/hoststore-fixture/cli.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** The fixture's stack, as the app in test/helpers/cdktf-app.ts declares it. */
function model(root: string, cli: string): AppModel {
  return {
    stack: 'upgrade',
    root,
    cli,
    storage: [
      {
        id: 'pg',
        type: 'Disk',
        props: { name: 'pg', sizeGb: 1 },
        mounts: [{ id: 'pg-mount', service: 'db', mountPath: '/data' }],
      },
      {
        id: 'models',
        type: 'Volume',
        props: { sizeGb: 1, shared: true },
        mounts: [{ id: 'models-mount', service: 'inference', mountPath: '/models', replicas: 2 }],
        policy: { id: 'nightly', schedule: '0 4 * * *', retentionDays: 7 },
      },
    ],
  };
}

deployTest(
  'upgrading a v0.1 deployment: identities updated in place, config carriers dropped, nothing deleted, data kept',
  () => {
    const host = makeHostFixture();
    const app = new CdktfApp();
    cleanups.push(
      () => host.cleanup(),
      () => app.cleanup(),
    );
    const { path: wrapper, calls } = loggingCli(app.dir);
    // The policy's cron entry goes to the app's own directory (terraform's provisioners inherit this).
    process.env.HOSTSTORE_CRON_DIR = path.join(app.dir, 'cron.d');
    cleanups.push(() => delete process.env.HOSTSTORE_CRON_DIR);
    const stackDir = path.join(app.dir, 'cdktf.out', 'stacks', 'upgrade');
    const state = path.join(app.dir, 'terraform.upgrade.tfstate');
    const tf = terraformIn(app.dir, stackDir);
    const ok = (r: { status: number | null; output: string }) => ({
      status: r.status,
      output: r.status === 0 ? '' : r.output,
    });

    // GIVEN the v0.1 stack deployed by terraform
    fs.mkdirSync(stackDir, { recursive: true });
    const old = JSON.parse(
      fs.readFileSync(FIXTURE, 'utf8').split(FIXTURE_ROOT).join(host.root).split(FIXTURE_CLI).join(wrapper),
    );
    old.terraform = { backend: { local: { path: state } } };
    fs.writeFileSync(path.join(stackDir, 'cdk.tf.json'), JSON.stringify(old));
    expect(ok(tf.run(['init', '-input=false']))).toEqual({ status: 0, output: '' });
    expect(ok(tf.run(['apply', '-auto-approve', '-input=false']))).toEqual({
      status: 0,
      output: '',
    });
    // (v0.1 converged each thing in its own process)
    expect(calls().filter((c) => c.endsWith(' converge'))).toHaveLength(7);
    const data = replicaHostPath(host.root, 'app', 'db', 1, '/data');
    fs.writeFileSync(path.join(data, 'PG_VERSION'), '16');
    const journalBefore = fs.readFileSync(journalPath(host.root), 'utf8');

    // WHEN the same stack is synthesized by this build
    app.write(model(host.root, wrapper));
    app.cdktf('synth');
    expect(JSON.parse(fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')).terraform.backend.local.path).toBe(
      state,
    );
    // THEN terraform plans every identity carrier as an update in place, the config carriers' destruction, the
    // manifest's replacement and the retirement's creation (which runs nothing)
    const changes = tf.plannedChanges();
    const by = (pattern: RegExp) => changes.filter((c) => pattern.test(c.name)).map((c) => c.actions.join('+'));
    expect(by(/_identity/)).toEqual(Array(6).fill('update'));
    expect(by(/_config/)).toEqual(Array(6).fill('delete'));
    expect(by(/_manifest_/)).toEqual(['delete+create']);
    expect(by(/_retirement_/)).toEqual(['create']);
    expect(changes).toHaveLength(14);
    // WHEN it is applied THEN one converge runs (no delete: the carriers dropped run nothing in this build's
    // config), finds nothing to change, and the data is where it was
    const before = calls().length;
    const applied = tf.run(['apply', '-auto-approve', '-input=false']);
    expect(ok(applied)).toEqual({ status: 0, output: '' });
    expect(calls().slice(before)).toEqual(['handle project converge']);
    expect(applied.output).toMatch(/nothing to change/);
    expect(fs.readFileSync(journalPath(host.root), 'utf8')).toBe(journalBefore);
    expect(fs.readFileSync(path.join(data, 'PG_VERSION'), 'utf8')).toBe('16');
    expect(
      readMountTable().some((e) => e.target === replicaHostPath(host.root, 'app', 'inference', 2, '/models')),
    ).toBe(true);
    // AND terraform and hoststore's own plan agree there is nothing left to do
    expect(tf.run(['plan', '-input=false', '-detailed-exitcode']).status).toBe(0);
    expect(hoststore(['plan', '--app', path.join(app.dir, 'cdktf.out'), '--detailed-exitcode']).status).toBe(0);
    // (the stack is destroyed so the policy's cron entry and the mounts go with the fixture)
    expect(ok(tf.run(['destroy', '-auto-approve', '-input=false']))).toEqual({
      status: 0,
      output: '',
    });
  },
  600_000,
);
