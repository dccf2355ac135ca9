/**
 * Read commands run inside a cdktf app without --root read the roots its synth output declares, each
 * under the same trust checks, instead of assuming /var/lib/hoststore.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { App, TerraformStack } from 'cdktf';
import { StorageProject, Volume } from '../../src/index.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { CLI, hoststore } from '../helpers/cli.js';

let a: HostFixture;
let b: HostFixture;
let appDir: string;
beforeEach(() => {
  a = makeHostFixture();
  b = makeHostFixture();
  appDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-app-roots-'));
});
afterEach(() => {
  a.cleanup();
  b.cleanup();
  fs.rmSync(appDir, { recursive: true, force: true });
});

/** A cdktf app whose synth output declares a project on each root (directory volumes: no images to make). */
function synthApp(roots: Array<{ root: string; project: string; volumes: string[] }>, output = 'cdktf.out'): string {
  fs.writeFileSync(
    path.join(appDir, 'cdktf.json'),
    JSON.stringify({ language: 'typescript', app: 'node app.js', ...(output === 'cdktf.out' ? {} : { output }) }),
  );
  const outdir = path.join(appDir, output);
  const app = new App({ outdir });
  for (const r of roots) {
    const stack = new TerraformStack(app, r.project);
    const project = new StorageProject(stack, r.project, { root: r.root });
    for (const name of r.volumes) new Volume(project, name, { type: 'directory' });
  }
  app.synth();
  return outdir;
}

/** `hoststore ...` run in the app's directory, as a user would, with no root in the environment. */
function inApp(...args: string[]) {
  const env = { ...process.env };
  delete env.HOSTSTORE_ROOT;
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: appDir, encoding: 'utf8', env });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

hostTest()(
  'list, status, lease-list and snapshot list in a cdktf app read every root its synth output declares',
  () => {
    // GIVEN an app declaring storage on two roots, applied
    const out = synthApp([
      { root: a.root, project: 'alpha', volumes: ['db'] },
      { root: b.root, project: 'beta', volumes: ['db', 'cache'] },
    ]);
    expect(hoststore(['apply', '--app', out, '--auto-approve'])).toMatchObject({ status: 0 });
    expect(hoststore(['snapshot', 'create', 'cache', '--root', b.root])).toMatchObject({ status: 0 });
    // WHEN list runs in the app without --root
    const [first, second] = [a.root, b.root].sort();
    const listed = inApp('list');
    // THEN it shows each root under its heading
    expect(listed).toMatchObject({ status: 0, stderr: '' });
    expect(listed.stdout).toContain(`root ${first}:\n`);
    expect(listed.stdout).toContain(`root ${second}:\n`);
    expect(listed.stdout.split(`root ${b.root}:`)[1].split(/\nroot /)[0]).toMatch(/cache\s+directory\s+beta/);
    const json = JSON.parse(inApp('list', '--json').stdout) as Array<{ root: string; name: string; project: string }>;
    expect(json.map((i) => `${i.root}:${i.project}/${i.name}`).sort()).toEqual(
      [`${a.root}:alpha/db`, `${b.root}:beta/cache`, `${b.root}:beta/db`].sort(),
    );
    // AND status finds a name on the one root that has it, and asks for --root when several do
    expect(inApp('status', 'cache')).toMatchObject({
      status: 0,
      stdout: expect.stringContaining(`root:           ${b.root}`),
    });
    expect(inApp('status', 'db')).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/'db' names storage under 2 roots .*pick one with --root/),
    });
    expect(inApp('lease-list')).toMatchObject({
      status: 0,
      stdout: expect.stringContaining(`root ${a.root}:\nno disk leases`),
    });
    const snapshots = inApp('snapshot', 'list', '--json');
    expect(snapshots.status).toBe(0);
    expect(JSON.parse(snapshots.stdout)).toMatchObject([{ root: b.root, storage: 'cache' }]);
    // AND --root still picks one root
    expect(JSON.parse(inApp('list', '--json', '--root', a.root).stdout)).toHaveLength(1);
  },
);

hostTest()('a root of the app that others can write is refused, as with --root', () => {
  synthApp(
    [
      { root: a.root, project: 'alpha', volumes: ['db'] },
      { root: b.root, project: 'beta', volumes: ['db'] },
    ],
    'out',
  );
  fs.chmodSync(b.root, 0o777);
  for (const args of [['list'], ['lease-list'], ['snapshot', 'list']]) {
    expect(inApp(...args)).toMatchObject({
      status: 3,
      stderr: expect.stringContaining(`refusing to use the hoststore root ${b.root}`),
    });
  }
});

hostTest()('an app with no synth output says to synth, or to pass --root', () => {
  fs.writeFileSync(path.join(appDir, 'cdktf.json'), JSON.stringify({ language: 'typescript', app: 'node app.js' }));
  expect(inApp('list')).toMatchObject({
    status: 2,
    stderr: expect.stringMatching(
      /^hoststore: .* is a cdktf app \(cdktf.json\) but .*cdktf.out holds no synth output.*run cdktf synth first, or pass --root DIR\n$/,
    ),
  });
});
