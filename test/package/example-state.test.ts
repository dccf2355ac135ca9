/**
 * The example app keeps its Terraform state out of the repository (next to the root it describes), and
 * no state file is tracked: a clone must not carry someone's host state.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { REPO, run } from '../apps/app-kit.js';

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-example-state-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('the example stacks write their state next to their root, outside the repository', () => {
  // WHEN the example app (built by `npm run build`) synthesizes with a root of its own
  run(process.execPath, [path.join(REPO, 'dist/examples/main.js')], {
    cwd: work,
    env: { HOSTSTORE_ROOT: '/srv/hoststore-example' },
  });
  // THEN each stack's local backend points beside that root
  for (const stack of ['web-app', 'postgres']) {
    const synthesized = JSON.parse(fs.readFileSync(path.join(work, 'cdktf.out/stacks', stack, 'cdk.tf.json'), 'utf8'));
    expect(synthesized.terraform.backend).toEqual({
      local: { path: `/srv/hoststore-example-terraform-state/terraform.${stack}.tfstate` },
    });
  }
});

test('no Terraform state file is tracked', () => {
  const tracked = execFileSync('git', ['ls-files'], { cwd: REPO, encoding: 'utf8' }).split('\n');
  expect(tracked.filter((file) => /\.tfstate/.test(file))).toEqual([]);
});
