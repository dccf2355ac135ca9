/**
 * Ownership between the stacks of one synth output, before anything exists on the host: disks are
 * host-wide, so two stacks declaring Disk `pg` name one disk. The plan judges the second as a borrower of
 * what the first will create, as it would once the first exists, so a refusal stops the apply before it
 * starts rather than halfway.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, TerraformStack } from 'cdktf';
import { Disk, StorageProject } from '../../src/index.js';
import { imagePath } from '../../src/schema.js';
import { Registry } from '../../provider/registry/store.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { hoststore } from '../helpers/cli.js';

let host: HostFixture;
let out: string;
beforeEach(() => {
  host = makeHostFixture();
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-out-'));
});
afterEach(() => {
  host.cleanup();
  fs.rmSync(out, { recursive: true, force: true });
});

/** One app, two stacks (`jobs` and `web`, in that order in the plan), each with its own project declaring Disk pg. */
function synthTwoStacks(jobsProps: Record<string, unknown>, webProps: Record<string, unknown>): void {
  const app = new App({ outdir: out });
  for (const [stack, project, props] of [
    ['jobs', 'beta', jobsProps],
    ['web', 'alpha', webProps],
  ] as const) {
    const p = new StorageProject(new TerraformStack(app, stack), 'p', { root: host.root, name: project });
    new Disk(p, 'pg', { name: 'pg', ...props });
  }
  app.synth();
}

const planJson = () =>
  JSON.parse(hoststore(['plan', '--app', out, '--format', 'json']).stdout) as {
    items: Array<{
      stack: string;
      subject: string;
      action: string;
      safety: string;
      changes: Array<{ field: string; reason?: string }>;
    }>;
  };

hostTest()(
  'a second stack declaring the same new disk with another removal policy is refused in the plan, and the apply changes nothing',
  () => {
    // GIVEN a fresh host and two stacks that both declare Disk pg, the second with removalPolicy 'destroy'
    synthTwoStacks({ sizeGb: 1 }, { sizeGb: 1, removalPolicy: 'destroy' });
    // WHEN it is planned THEN the first creates it and the second is refused, naming the owner-to-be
    const items = planJson().items.filter((i) => i.subject === 'disk pg');
    expect(items.map((i) => [i.stack, i.action, i.safety])).toEqual([
      ['jobs', 'create', 'safe'],
      ['web', 'update', 'refused'],
    ]);
    expect(items[1].changes.find((c) => c.field === 'removal_policy')?.reason).toMatch(
      /belongs to project beta \(stack jobs\)/,
    );
    // AND the apply refuses before anything is made
    expect(hoststore(['apply', '--app', out, '--auto-approve'])).toMatchObject({ status: 3 });
    expect(fs.existsSync(imagePath(host.root, 'disk', 'beta', 'pg'))).toBe(false);
  },
);

hostTest()(
  'a second stack declaring the same new disk as it is borrows it: planned as no change, applied as one disk owned by the first',
  () => {
    synthTwoStacks({ sizeGb: 1 }, { sizeGb: 1 });
    const items = planJson().items.filter((i) => i.subject === 'disk pg');
    expect(items.map((i) => [i.stack, i.action, i.safety])).toEqual([
      ['jobs', 'create', 'safe'],
      ['web', 'no-op', 'safe'],
    ]);
    expect(items[1].changes.find((c) => c.field === 'owner')?.reason).toMatch(
      /borrowed from project beta \(stack jobs\)/,
    );
    expect(hoststore(['apply', '--app', out, '--auto-approve'])).toMatchObject({ status: 0 });
    expect(new Registry(host.root).storage('disk', 'beta', 'pg')).toMatchObject({
      project: 'beta',
      stack: 'jobs',
      removalPolicy: 'retain',
    });
    // AND a second plan shows no changes
    expect(planJson().items.every((i) => i.action === 'no-op')).toBe(true);
  },
);
