/**
 * A CDK Terrain app as its users write it (`import { App, TerraformStack } from "cdktn"`), made from
 * cdktn-cli 0.24's own TypeScript template, with the packed library installed from its tarball, all under
 * node 22 from the npm registry (cdktn-cli needs node >= 22.19): one copy of constructs is installed, the
 * app type-checks and its jest passes, and a real `cdktn deploy` makes the storage on this host that
 * `cdktn destroy` removes again.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { terraformAvailable } from '../helpers/cdktf-app.js';
import { npmInstall, packFreshClone, run, shopOnHost, writeShopApp } from './app-kit.js';

let work: string;
let app: string;
let cdktn: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-cdktn-app-'));
  const tarball = packFreshClone(work);

  // node 22 from the registry, first on the PATH of everything below (npm, npx, the CLI, ts-node).
  const node22 = path.join(work, 'node22');
  fs.mkdirSync(node22);
  fs.writeFileSync(path.join(node22, 'package.json'), JSON.stringify({ name: 'node22', private: true }));
  npmInstall(node22, ['node@>=22.19.0 <23']);
  env = { PATH: `${path.join(node22, 'node_modules', 'node', 'bin')}${path.delimiter}${process.env.PATH}` };

  // The CLI where a user has it (their global install), and the app from its template.
  const cli = path.join(work, 'cli');
  fs.mkdirSync(cli);
  fs.writeFileSync(path.join(cli, 'package.json'), JSON.stringify({ name: 'cli', private: true }));
  npmInstall(cli, ['cdktn-cli@~0.24.0'], { env });
  cdktn = path.join(cli, 'node_modules', '.bin', 'cdktn');
  app = path.join(work, 'shop');
  writeShopApp(path.join(cli, 'node_modules', 'cdktn-cli', 'bundle', 'templates', 'typescript'), app, 'cdktn');
  // What the template's init hook installs, then the library.
  npmInstall(app, ['cdktn@~0.24.0', 'constructs@>=10.6.0 <10.8.0'], { env });
  npmInstall(app, ['@types/node', 'typescript@5.x', 'jest', '@types/jest', 'ts-jest', 'ts-node'], { dev: true, env });
  npmInstall(app, [tarball], { env });
}, 1_800_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('the app runs on node >= 22.19 from the registry', () => {
  const version = run('node', ['--version'], { cwd: app, env }).trim();
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number) as [number, number];
  expect(major === 22 && minor >= 19).toBe(true);
});

test('one copy of constructs is installed, and the app type-checks (tsc --noEmit)', () => {
  const copies = run('npm', ['ls', 'constructs', '--all', '--parseable'], { cwd: app, env })
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  expect(copies).toEqual([path.join(fs.realpathSync(app), 'node_modules', 'constructs')]);
  run('npx', ['tsc', '--noEmit'], { cwd: app, env });
}, 300_000);

test("the app's own jest tests the constructs with cdktn's matchers", () => {
  expect(run('npx', ['jest'], { cwd: app, env })).toMatch(/Tests:\s+2 passed, 2 total/);
}, 300_000);

describe('deploy', () => {
  let host: HostFixture;
  beforeEach(() => {
    host = makeHostFixture();
  });
  afterEach(() => host.cleanup());

  const deployTest = terraformAvailable() ? hostTest() : test.skip;
  deployTest(
    'cdktn deploy makes the disk and mounts it; cdktn destroy removes both',
    () => {
      const deployEnv = { ...env, SHOP_STORAGE_ROOT: host.root };
      // WHEN the app is deployed with the cdktn CLI
      run(cdktn, ['deploy', '--auto-approve'], { cwd: app, env: deployEnv, timeout: 900_000 });
      // THEN the disk image exists and the db service's path is a mount
      expect(shopOnHost(host.root)).toEqual({ image: true, mounted: true });
      // WHEN it is destroyed (removalPolicy: 'destroy')
      run(cdktn, ['destroy', '--auto-approve'], { cwd: app, env: deployEnv, timeout: 900_000 });
      // THEN the mount and the image are gone
      expect(shopOnHost(host.root)).toEqual({ image: false, mounted: false });
    },
    1_200_000,
  );
});
