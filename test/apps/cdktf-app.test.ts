/**
 * A cdktf 0.21 app as `cdktf init --template=typescript` makes it (CommonJS, ts-jest, ts-node), with the
 * packed library installed from its tarball: its own jest runs Testing.synth and toHaveResourceWithProperties
 * on our constructs, `tsc --noEmit` is clean, and a real `cdktf deploy` makes the storage on this host
 * (terraform_data carriers) that `cdktf destroy` removes again.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { terraformAvailable } from '../helpers/cdktf-app.js';
import { REPO, npmInstall, packFreshClone, run, shopOnHost, writeShopApp } from './app-kit.js';

const CDKTF = path.join(REPO, 'node_modules', '.bin', 'cdktf');
const TEMPLATE = path.join(REPO, 'node_modules', 'cdktf-cli', 'bundle', 'templates', 'typescript');

let work: string;
let app: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-cdktf-app-'));
  const tarball = packFreshClone(work);
  app = path.join(work, 'shop');
  writeShopApp(TEMPLATE, app, 'cdktf');
  // What the template's init hook installs. typescript is held at 5.x: the `typescript` it names now
  // resolves to 7, whose package has no compiler API for ts-jest 29 (cdktn's template pins 5.x too).
  npmInstall(app, ['cdktf@^0.21.0', 'constructs@10']);
  npmInstall(app, ['@types/node', 'typescript@5.x', 'jest', '@types/jest', 'ts-jest', 'ts-node'], { dev: true });
  // Then the user adds the library.
  npmInstall(app, [tarball]);
}, 1_800_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test("the app's own jest tests the constructs with cdktf's matchers", () => {
  const output = run('npx', ['jest'], { cwd: app });
  expect(output).toMatch(/Tests:\s+2 passed, 2 total/);
}, 300_000);

test('the app type-checks (tsc --noEmit)', () => {
  run('npx', ['tsc', '--noEmit'], { cwd: app });
}, 300_000);

describe('deploy', () => {
  let host: HostFixture;
  beforeEach(() => {
    host = makeHostFixture();
  });
  afterEach(() => host.cleanup());

  const deployTest = terraformAvailable() ? hostTest() : test.skip;
  deployTest(
    'cdktf deploy makes the disk and mounts it; cdktf destroy removes both',
    () => {
      const env = { SHOP_STORAGE_ROOT: host.root };
      // WHEN the app is deployed with the cdktf CLI (the app runs under ts-node, as cdktf.json says)
      run(CDKTF, ['deploy', '--auto-approve'], { cwd: app, env, timeout: 900_000 });
      // THEN the disk image exists and the db service's path is a mount
      expect(shopOnHost(host.root)).toEqual({ image: true, mounted: true });
      // WHEN it is destroyed (removalPolicy: 'destroy')
      run(CDKTF, ['destroy', '--auto-approve'], { cwd: app, env, timeout: 900_000 });
      // THEN the mount and the image are gone
      expect(shopOnHost(host.root)).toEqual({ image: false, mounted: false });
    },
    1_200_000,
  );
});
