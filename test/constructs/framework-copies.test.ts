/**
 * Apps whose framework is another copy than the library's (issue 10 §1, §2): an app on cdktf 0.20.12 while
 * the library resolves the repository's cdktf 0.21, and a CDK Terrain (cdktn 0.24) app. Each runs in its own
 * node process from a temporary directory where npm installed its framework, against the built library
 * (`npm run build` first, as `npm test` does).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TSC = path.join(REPO, 'node_modules', '.bin', 'tsc');

function run(command: string, args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, CI: '1', npm_config_fund: 'false', npm_config_audit: 'false' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A temporary app directory with `packages` installed by npm; removed by `cleanup`. */
function makeApp(packages: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-fw-'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  const npm = run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', ...packages], dir);
  if (npm.status !== 0) throw new Error(`npm install ${packages.join(' ')} failed: ${npm.stderr.slice(-2000)}`);
  return dir;
}

// The stack the apps build: one of each construct, so every kind of carrier is counted.
const BUILD = `
const project = new StorageProject(stack, 'proj', { cli: 'hoststore', root: '/srv/hs' });
const cache = new Volume(project, 'cache', { sizeGb: 1 });
new SnapshotPolicy(project, 'nightly', { storage: cache, schedule: '0 4 * * *' });
new Mount(project, 'm', { storage: cache, service: 'web', mountPath: '/c', replicas: 2 });
const pg = new Disk(project, 'pg', { name: 'pg', sizeGb: 1 });
new Mount(project, 'pgm', { storage: pg, service: 'db', mountPath: '/data' });
`;
// cache x2, nightly x2, m x2, pg, pgm: 8 things, one carrier each, the manifest and the retirement.
const CARRIERS = 10;

const SYNTH = `
app.synth();
const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', 'stack', 'cdk.tf.json'), 'utf8'));
console.log(JSON.stringify({ carriers: Object.keys(json.resource?.terraform_data ?? {}).length, outputs: Object.keys(json.output ?? {}).sort() }));
`;

describe('an app on another copy of cdktf (0.20.12, the library resolving 0.21)', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeApp(['cdktf@0.20.12', 'constructs@10.7.2']);
    fs.writeFileSync(
      path.join(dir, 'app.mjs'),
      `
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { App, TerraformStack } from 'cdktf';
const require = createRequire(import.meta.url);
const { StorageProject, Volume, Disk, Mount, SnapshotPolicy } = await import(${JSON.stringify(path.join(REPO, 'dist/src/index.js'))});
// 'bundled': the app's cdktf is not in require.cache (a bundler's, say), so the library cannot find it.
if (process.argv[2] === 'bundled') {
  for (const key of Object.keys(require.cache)) if (key.startsWith(path.join(process.cwd(), 'node_modules', 'cdktf') + path.sep)) delete require.cache[key];
}
const outdir = fs.mkdtempSync(path.join(process.cwd(), 'out-'));
const app = new App({ outdir });
const stack = new TerraformStack(app, 'stack');
${BUILD}
${SYNTH}
`,
    );
  }, 300_000);
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('renders every carrier with the copy that made the stack (never zero)', () => {
    const result = run('node', ['app.mjs'], dir);
    expect(result.stderr).not.toMatch(/Error/);
    expect(JSON.parse(result.stdout)).toMatchObject({ carriers: CARRIERS });
  });

  test('a copy it cannot find fails synth with one line naming both copies and the fix', () => {
    const result = run('node', ['app.mjs', 'bundled'], dir);
    expect(result.status).not.toBe(0);
    const line = result.stderr
      .split('\n')
      .find((l) => l.startsWith('Error: [stack] cdktf-hoststore cannot add its resources'));
    expect(line).toBeDefined();
    expect(line).toContain(
      '[stack] cdktf-hoststore cannot add its resources to this stack: the stack was made by cdktf 0.20.12 (path unknown)',
    );
    expect(line).toContain(`cdktf-hoststore loads cdktf 0.21.0 (${path.join(REPO, 'node_modules', 'cdktf')})`);
    expect(line).toContain('run `npm ls cdktf constructs`, then `npm dedupe`, or install cdktf in the app itself');
  });
});

describe('a CDK Terrain app (cdktn 0.24) with the library installed beside it', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeApp(['cdktn@0.24.0', 'constructs@10.7.2']);
    // The library as npm would install it: its own directory in the app's node_modules (not a symlink, which
    // node would resolve back into this repository), resolving cdktn and constructs as the app's peers.
    const lib = path.join(dir, 'node_modules', 'cdktf-hoststore');
    fs.mkdirSync(path.join(lib, 'dist'), { recursive: true });
    fs.cpSync(path.join(REPO, 'dist', 'src'), path.join(lib, 'dist', 'src'), { recursive: true });
    fs.copyFileSync(path.join(REPO, 'package.json'), path.join(lib, 'package.json'));
    for (const dependency of ['zod', 'croner'])
      fs.symlinkSync(path.join(REPO, 'node_modules', dependency), path.join(dir, 'node_modules', dependency));
    fs.writeFileSync(
      path.join(dir, 'app.ts'),
      `
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, TerraformStack } from 'cdktn';
import { StorageProject, Volume, Disk, Mount, SnapshotPolicy } from 'cdktf-hoststore';
const outdir = fs.mkdtempSync(path.join(process.cwd(), 'out-'));
const app = new App({ outdir });
const stack = new TerraformStack(app, 'stack');
${BUILD}
const hostPaths: string[] = cache.hostPaths;
void hostPaths;
${SYNTH}
`,
    );
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          typeRoots: [path.join(REPO, 'node_modules', '@types')],
          types: ['node'],
        },
        files: ['app.ts'],
      }),
    );
  }, 300_000);
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('type-checks as its users write it (no cdktf needed, one constructs), then synthesizes every carrier and the outputs', () => {
    const compiled = run(TSC, ['-p', 'tsconfig.json'], dir);
    expect(compiled.stdout + compiled.stderr).toBe('');
    expect(compiled.status).toBe(0);
    const result = run('node', ['app.js'], dir);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      carriers: CARRIERS,
      outputs: ['proj_cache_storage', 'proj_m_host_paths', 'proj_pg_storage', 'proj_pgm_host_paths'],
    });
  });
});
