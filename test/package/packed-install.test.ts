/**
 * The package as users get it: `npm pack`, installed into a fresh project. Constructs import (ESM and
 * CommonJS), `hoststore` is on that project's PATH, and the synthesized provisioners point at the
 * installed CLI.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-pack-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const APP = `
const { App, TerraformStack } = require('cdktf');
const { StorageProject, Disk, Mount } = require('cdktf-hoststore');
const app = new App({ outdir: 'out' });
const stack = new TerraformStack(app, 's');
const project = new StorageProject(stack, 'p', { root: '/srv/hoststore' });
const disk = new Disk(project, 'd', { name: 'pg', sizeGb: 1 });
new Mount(project, 'm', { storage: disk, service: 'db', mountPath: '/data' });
app.synth();
`;

test('npm pack installs into a fresh project and works there', () => {
  // GIVEN the packed tarball installed into a new project
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: REPO, encoding: 'utf8' }).trim().split('\n').pop() as string;
  const project = path.join(work, 'consumer');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  // cdktf and constructs are peer dependencies: the app installs them, as a cdktf app has them already.
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', 'cdktf@0.21.0', 'constructs@10.7.2', path.join(work, tarball)], { cwd: project, stdio: 'ignore' });
  const files = execFileSync('tar', ['tzf', path.join(work, tarball)], { encoding: 'utf8' });
  expect(files).toMatch(/package\/dist\/provider\/cli\.js/);
  expect(files).not.toMatch(/package\/dist\/test\//);

  // THEN `hoststore` is on the project's PATH
  const help = spawnSync('npx', ['--no-install', 'hoststore', '--help'], { cwd: project, encoding: 'utf8' });
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/usage: hoststore <command>/);

  // AND the constructs load from CommonJS (cdktf's default app template) and ESM
  fs.writeFileSync(path.join(project, 'app.cjs'), APP);
  execFileSync(process.execPath, ['app.cjs'], { cwd: project, stdio: 'pipe' });
  const esm = spawnSync(process.execPath, ['--input-type=module', '-e', "import { Volume, StorageProject } from 'cdktf-hoststore'; console.log(typeof Volume, typeof StorageProject)"], { cwd: project, encoding: 'utf8' });
  expect(esm.stdout.trim()).toBe('function function');

  // AND the synthesized provisioners run the installed CLI, which exists and is executable
  const synthesized = JSON.parse(fs.readFileSync(path.join(project, 'out/stacks/s/cdk.tf.json'), 'utf8'));
  const clis = new Set(
    Object.values(synthesized.resource.terraform_data as Record<string, any>).flatMap((r) => r.provisioner.map((p: any) => p['local-exec'].environment.HOSTSTORE_CLI)),
  );
  expect([...clis]).toEqual([path.join(fs.realpathSync(project), 'node_modules/cdktf-hoststore/dist/provider/cli.js')]);
  fs.accessSync([...clis][0] as string, fs.constants.X_OK);
});
