/**
 * Who owns storage, on the Terraform path: two stacks of one project declare Disk pg and each is applied
 * and destroyed by real `terraform` (its provisioners run `hoststore handle storage converge|delete`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { imagePath } from '../../src/schema.js';
import { Registry } from '../../provider/registry/store.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { CdktfApp, terraformAvailable, type AppModel } from '../helpers/cdktf-app.js';

const haveTerraform = terraformAvailable();
if (!haveTerraform) process.stderr.write('skipping terraform ownership tests: terraform is not on the PATH\n');
const tfTest = haveTerraform ? hostTest() : test.skip;

let host: HostFixture;
const apps: CdktfApp[] = [];
let cliConfig: string;
beforeEach(() => {
  host = makeHostFixture();
  // No registry here: an empty CLI config keeps terraform from looking for one.
  cliConfig = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-tfrc-')), 'empty.tfrc');
  fs.writeFileSync(cliConfig, '');
});
afterEach(() => {
  for (const app of apps.splice(0)) app.cleanup();
  fs.rmSync(path.dirname(cliConfig), { recursive: true, force: true });
  host.cleanup();
});

/** Synthesizes the stack with cdktf, then runs terraform itself in the stack's directory. */
function stackOf(model: AppModel) {
  const app = new CdktfApp();
  apps.push(app);
  app.write(model);
  app.cdktf('synth');
  const dir = path.join(app.dir, 'cdktf.out', 'stacks', model.stack);
  const terraform = (...args: string[]) => {
    const result = spawnSync('terraform', args, {
      cwd: dir,
      encoding: 'utf8',
      timeout: 300_000,
      env: {
        ...process.env,
        TF_CLI_CONFIG_FILE: cliConfig,
        TF_IN_AUTOMATION: '1',
        CHECKPOINT_DISABLE: '1',
        NO_COLOR: '1',
      },
    });
    return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
  };
  expect(terraform('init', '-input=false', '-no-color')).toMatchObject({ status: 0 });
  return terraform;
}

tfTest(
  "a stack that reuses a disk by name cannot take over its policy, and its terraform destroy keeps the owner's disk",
  () => {
    // GIVEN stack a of project app created Disk pg (removalPolicy retain)
    const owner = stackOf({
      stack: 'a',
      root: host.root,
      storage: [{ id: 'pg', type: 'Disk', props: { name: 'pg', sizeGb: 1, filesystem: 'ext4' } }],
    });
    expect(owner('apply', '-auto-approve', '-input=false', '-no-color')).toMatchObject({ status: 0 });
    const image = imagePath(host.root, 'disk', 'app', 'pg');
    const before = new Registry(host.root).storage('disk', 'app', 'pg');
    expect(before).toMatchObject({ project: 'app', stack: 'a', removalPolicy: 'retain' });
    // WHEN stack b of the same project declares Disk pg with removalPolicy 'destroy'
    const borrower = stackOf({
      stack: 'b',
      root: host.root,
      storage: [
        { id: 'pg', type: 'Disk', props: { name: 'pg', sizeGb: 1, filesystem: 'ext4', removalPolicy: 'destroy' } },
      ],
    });
    const applied = borrower('apply', '-auto-approve', '-input=false', '-no-color');
    // THEN its converge is refused, naming the owner, and the record keeps its owner and policy
    expect(applied.status).not.toBe(0);
    expect(applied.output).toMatch(/belongs to project app \(stack a\)/);
    expect(new Registry(host.root).storage('disk', 'app', 'pg')).toEqual(before);
    // WHEN stack b is destroyed
    const destroyed = borrower('destroy', '-auto-approve', '-input=false', '-no-color');
    // (its retirement retires what stack b's records name: nothing, its converge having been refused)
    expect(destroyed.output).toMatch(/project app \(stack b\): nothing to retire/);
    expect(destroyed.status).toBe(0);
    // THEN stack a's disk and record are untouched, and stack a has nothing to do
    expect(fs.existsSync(image)).toBe(true);
    expect(new Registry(host.root).storage('disk', 'app', 'pg')).toEqual(before);
    const again = owner('plan', '-detailed-exitcode', '-input=false', '-no-color');
    expect(again.status).toBe(0);
  },
);
