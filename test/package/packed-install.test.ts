/**
 * The package as users get it: `npm pack` on a fresh clone (prepack builds dist/), installed next to cdktf
 * into a new project. It ships the ESM and CommonJS builds and the CLI but no tests, benches or examples;
 * `hoststore` is on the project's PATH; CommonJS and ESM code load it in node and type-check against it
 * (moduleResolution node16 and nodenext); the synthesized provisioners point at the installed CLI.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO, carriersOf, npmInstall, packFreshClone, run, tarballFiles } from '../apps/app-kit.js';

const TSC = path.join(REPO, 'node_modules', '.bin', 'tsc');
let work: string;
let tarball: string;
let project: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-pack-'));
  tarball = packFreshClone(work);
  project = path.join(work, 'consumer');
  fs.mkdirSync(project);
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
  );
  // As a cdktf app has them (cdktf init installs cdktf and constructs@10), then the library.
  npmInstall(project, ['cdktf@^0.21.0', 'constructs@^10']);
  npmInstall(project, [tarball]);
}, 1_200_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const STACK = `
const app = new App({ outdir: 'out' });
const stack = new TerraformStack(app, 's');
const project = new StorageProject(stack, 'p', { root: '/srv/hoststore' });
const disk = new Disk(project, 'd', { name: 'pg', sizeGb: 1 });
new Mount(project, 'm', { storage: disk, service: 'db', mountPath: '/data' });
app.synth();
`;

/** A directory of the consumer project with its own package.json type and tsconfig, holding main.ts. */
function subApp(name: string, type: 'module' | 'commonjs', module: 'nodenext' | 'node16', source: string): string {
  const dir = path.join(project, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, private: true, type }));
  const compilerOptions = {
    module,
    moduleResolution: module,
    target: 'es2022',
    strict: true,
    skipLibCheck: false,
    outDir: 'build',
    types: [],
  };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['main.ts'] }));
  fs.writeFileSync(path.join(dir, 'main.ts'), source);
  return dir;
}

test('the tarball holds the ESM and CommonJS builds and the CLI, and no tests, benches, examples or sources', () => {
  const files = tarballFiles(tarball);
  expect(files).toEqual(
    expect.arrayContaining([
      'package.json',
      'README.md',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/provider/cli.js',
      'dist/provider/chunks/handle-main.cjs',
      'dist/provider/chunks/handle-main.cjs.v8cache',
      'dist/provider/chunks/program-main.js',
      'dist/cjs/package.json',
      'dist/cjs/src/index.js',
      'dist/cjs/src/index.d.ts',
      'dist/cjs/src/module-context.cjs',
    ]),
  );
  expect(
    files.filter((f) => /^dist\/(test|examples|cjs\/(test|provider|examples))\//.test(f) || /bench/.test(f)),
  ).toEqual([]);
  expect(files.filter((f) => /\.(c|m)?ts$/.test(f) && !/\.d\.(c|m)?ts$/.test(f))).toEqual([]);
  // The CLI ships as its bundle only: the entry and its chunks (the handler's one CommonJS file and its code
  // cache), not tsc's module-by-module build beside them.
  expect(
    files.filter(
      (f) => f.startsWith('dist/provider/') && !/^dist\/provider\/(cli|chunks\/[\w-]+)\.(js|cjs|cjs\.v8cache)$/.test(f),
    ),
  ).toEqual([]);
  const cjsType = JSON.parse(
    fs.readFileSync(path.join(project, 'node_modules/cdktf-hoststore/dist/cjs/package.json'), 'utf8'),
  );
  expect(cjsType).toEqual({ type: 'commonjs' });
});

test('hoststore is on the project PATH', () => {
  expect(run('npx', ['--no-install', 'hoststore', '--help'], { cwd: project })).toMatch(
    /^Usage: hoststore <command> \[options\]/,
  );
});

test('the installed CLI runs a handler from its bundle: a bad spec is refused in one line', () => {
  const cli = path.join(project, 'node_modules/cdktf-hoststore/dist/provider/cli.js');
  const result = spawnSync(cli, ['handle', 'mount', 'converge'], {
    cwd: project,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: undefined, HOSTSTORE_SPEC: '{}' },
  });
  expect(result.status).toBe(2);
  expect(result.stderr).toMatch(/^hoststore: mount spec rejected: root: Required; [^\n]*\n$/);
});

test('a CommonJS app requires it in node, and its provisioners run the installed CLI', () => {
  // GIVEN a plain CommonJS app (what cdktf's TypeScript template compiles to)
  fs.writeFileSync(
    path.join(project, 'app.cjs'),
    `const { App, TerraformStack } = require('cdktf');\nconst { StorageProject, Disk, Mount } = require('cdktf-hoststore');\n${STACK}`,
  );
  // WHEN it runs
  run(process.execPath, ['app.cjs'], { cwd: project });
  // THEN it rendered carriers, each running the installed, executable CLI
  const carriers = carriersOf(path.join(project, 'out/stacks/s/cdk.tf.json')) as Record<string, any>;
  expect(Object.keys(carriers).length).toBeGreaterThan(0);
  const clis = new Set(
    Object.values(carriers).flatMap((r) =>
      (r.provisioner ?? []).map((p: any) => p['local-exec'].environment.HOSTSTORE_CLI),
    ),
  );
  expect([...clis]).toEqual([path.join(fs.realpathSync(project), 'node_modules/cdktf-hoststore/dist/provider/cli.js')]);
  fs.accessSync([...clis][0] as string, fs.constants.X_OK);
});

test('an ESM app (type: module, nodenext) type-checks against it and runs', () => {
  // GIVEN an ESM TypeScript app importing the library
  const dir = subApp(
    'esm',
    'module',
    'nodenext',
    `import { App, TerraformStack } from 'cdktf';\nimport { StorageProject, Disk, Mount } from 'cdktf-hoststore';\n${STACK}`,
  );
  // WHEN it is compiled (type-checked) and run
  run(TSC, ['-p', dir], { cwd: dir });
  run(process.execPath, [path.join(dir, 'build/main.js')], { cwd: dir });
  // THEN its synth rendered carriers
  expect(Object.keys(carriersOf(path.join(dir, 'out/stacks/s/cdk.tf.json'))).length).toBeGreaterThan(0);
});

test('a CommonJS TypeScript app on moduleResolution node16 type-checks against it and runs', () => {
  const dir = subApp(
    'cjs16',
    'commonjs',
    'node16',
    `import { App, TerraformStack } from 'cdktf';\nimport { StorageProject, Disk, Mount } from 'cdktf-hoststore';\n${STACK}`,
  );
  run(TSC, ['-p', dir], { cwd: dir });
  run(process.execPath, [path.join(dir, 'build/main.js')], { cwd: dir });
  expect(Object.keys(carriersOf(path.join(dir, 'out/stacks/s/cdk.tf.json'))).length).toBeGreaterThan(0);
});
