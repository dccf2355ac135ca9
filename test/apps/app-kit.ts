/**
 * What the app tests share: the library packed as `npm pack` on a fresh clone makes it, apps written from
 * a framework's own `init --template=typescript` files, and commands run in them that throw with their
 * output when they fail. Apps install from the npm registry (npm's own cache makes repeats quick).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { imagePath, replicaHostPath } from '../../src/schema.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A slow registry must not fail a test: every install gets this long. */
export const INSTALL_TIMEOUT_MS = 900_000;

export interface RunOptions {
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeout?: number;
}

/** Runs a command (never through a shell); returns stdout and stderr together, throws with them on failure. */
export function run(command: string, args: readonly string[], options: RunOptions): string {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    encoding: 'utf8',
    timeout: options.timeout ?? 600_000,
    maxBuffer: 64 * 1024 * 1024,
    // The apps run as their users run them: not with the node options or worker id of this jest.
    env: {
      ...process.env,
      NODE_OPTIONS: undefined,
      JEST_WORKER_ID: undefined,
      CHECKPOINT_DISABLE: '1',
      CI: '1',
      FORCE_COLOR: '0',
      NO_COLOR: '1',
      ...options.env,
    },
  });
  const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
  if (result.status !== 0) {
    const why = result.error ? `${result.error.message}` : `exit ${result.status ?? result.signal}`;
    throw new Error(`${command} ${args.join(' ')} (in ${options.cwd}) failed: ${why}\n${output.slice(-6000)}`);
  }
  return output;
}

/** `npm install` that tolerates a slow registry and prefers what npm already has in its cache. */
export function npmInstall(
  cwd: string,
  specs: readonly string[],
  options: { dev?: boolean; env?: NodeJS.ProcessEnv } = {},
): string {
  const args = [
    'install',
    '--no-audit',
    '--no-fund',
    '--prefer-offline',
    ...(options.dev ? ['--save-dev'] : []),
    ...specs,
  ];
  return run('npm', args, { cwd, env: options.env, timeout: INSTALL_TIMEOUT_MS });
}

/**
 * `npm pack` of a fresh clone of this working tree (the files git tracks or would track, with no dist/):
 * proves that `prepack` builds what ships. node_modules is borrowed from the repository, as `npm ci` would
 * make it. Returns the tarball's path, inside `work`.
 */
export function packFreshClone(work: string): string {
  const clone = path.join(work, 'clone');
  for (const file of sourceFiles()) {
    const from = path.join(REPO, file);
    if (!fs.existsSync(from) || fs.lstatSync(from).isDirectory()) continue; // deleted in the tree, or a submodule
    fs.mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
    fs.copyFileSync(from, path.join(clone, file));
  }
  if (fs.existsSync(path.join(clone, 'dist'))) throw new Error('a fresh clone has no dist/ (is dist/ tracked?)');
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(clone, 'node_modules'));
  run('npm', ['pack', '--pack-destination', work], { cwd: clone, timeout: 600_000 });
  const tarballs = fs.readdirSync(work).filter((name) => name.endsWith('.tgz'));
  if (tarballs.length !== 1) throw new Error(`npm pack made ${tarballs.length} tarballs in ${work}`);
  return path.join(work, tarballs[0] as string);
}

/** The files a clone has: what git tracks or would track, or (no git checkout, e.g. a source archive) all but build output. */
function sourceFiles(): string[] {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO,
    encoding: 'utf8',
  });
  if (listed.status === 0) return listed.stdout.split('\0').filter(Boolean);
  const skip = new Set(['.git', 'node_modules', 'dist', 'cdktf.out', 'coverage']);
  const walk = (dir: string): string[] =>
    fs.readdirSync(path.join(REPO, dir), { withFileTypes: true }).flatMap((entry) => {
      const relative = path.join(dir, entry.name);
      if (skip.has(entry.name) || entry.name.endsWith('.tgz') || /\.tfstate/.test(entry.name)) return [];
      return entry.isDirectory() ? walk(relative) : [relative];
    });
  return walk('');
}

/** The files of a tarball, without the leading `package/`. */
export function tarballFiles(tarball: string): string[] {
  return run('tar', ['tzf', tarball], { cwd: path.dirname(tarball) })
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => l.replace(/^package\//, ''));
}

/**
 * Writes the app files that `<cli> init --template=typescript` makes, read from that CLI package's own
 * template directory (placeholders filled as init fills them), except the init hook and the help text.
 * The caller then installs what the hook would install and writes its own main.ts and tests.
 */
export function writeTemplateApp(templateDir: string, appDir: string, name: string): void {
  const fill = (text: string) =>
    text
      .replaceAll('{{ $base }}', name)
      .replaceAll('{{projectId}}', crypto.randomUUID())
      .replaceAll('{{sendCrashReports}}', 'false')
      .replaceAll('{{futureFlags}}', '');
  const copy = (relative: string) => {
    const from = path.join(templateDir, relative);
    if (fs.statSync(from).isDirectory()) {
      for (const entry of fs.readdirSync(from)) copy(path.join(relative, entry));
      return;
    }
    if (relative === '.hooks.sscaff.js' || relative === 'help') return;
    const to = path.join(appDir, relative.replace('{{}}', ''));
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.writeFileSync(to, fill(fs.readFileSync(from, 'utf8')));
  };
  fs.mkdirSync(appDir, { recursive: true });
  copy('.');
}

/** The terraform_data carriers of a synthesized stack (cdk.tf.json). */
export function carriersOf(stackJson: string): Record<string, { triggers_replace?: Record<string, string> }> {
  const synthesized = JSON.parse(fs.readFileSync(stackJson, 'utf8')) as {
    resource?: { terraform_data?: Record<string, never> };
  };
  return synthesized.resource?.terraform_data ?? {};
}

export type Framework = 'cdktf' | 'cdktn';

/** The storage every app test declares: one disk for the db service, deleted by destroy (nothing left behind). */
export const SHOP = { project: 'shop', disk: 'shop-db', service: 'db', mountPath: '/var/lib/db' } as const;

/**
 * A "shop" app as a user of `framework` writes it: the template's main.ts with our constructs in its
 * stack (root from SHOP_STORAGE_ROOT) and the template's test file with tests that use the user's jest
 * matchers (Testing.synth + toHaveResourceWithProperties) on our constructs.
 */
export function writeShopApp(templateDir: string, appDir: string, framework: Framework): void {
  writeTemplateApp(templateDir, appDir, 'shop');
  const main = fs.readFileSync(path.join(appDir, 'main.ts'), 'utf8');
  const withImport = main.replace(
    `from "${framework}";\n`,
    `from "${framework}";\nimport { StorageProject, Disk, Mount } from "cdktf-hoststore";\n`,
  );
  const withStorage = withImport.replace(
    '    // define resources here\n',
    [
      '    // define resources here',
      '    const project = new StorageProject(this, "shop", { root: process.env.SHOP_STORAGE_ROOT });',
      '    const db = new Disk(project, "db", { name: "shop-db", sizeGb: 1, removalPolicy: "destroy" });',
      '    new Mount(project, "db-mount", { storage: db, service: "db", mountPath: "/var/lib/db" });',
      '',
    ].join('\n'),
  );
  if (withStorage === main || withImport === main)
    throw new Error(`${framework}'s template main.ts changed shape: update writeShopApp`);
  fs.writeFileSync(path.join(appDir, 'main.ts'), withStorage);

  const templateTest = fs.readFileSync(path.join(appDir, '__tests__/main-test.ts'), 'utf8');
  const header = templateTest.slice(0, templateTest.indexOf('\n', templateTest.indexOf('/testing/adapters/jest')) + 1);
  fs.writeFileSync(
    path.join(appDir, '__tests__/main-test.ts'),
    `${header}import { Testing, TerraformStack } from "${framework}";
import { StorageProject, Disk, Mount } from "cdktf-hoststore";

describe("shop storage", () => {
  it("renders the disk and its mount for the db service", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "test");
    const project = new StorageProject(stack, "shop", { root: "/srv/shop" });
    const db = new Disk(project, "db", { name: "shop-db", sizeGb: 1 });
    new Mount(project, "db-mount", { storage: db, service: "db", mountPath: "/var/lib/db" });

    const synthesized = Testing.synth(stack);
    expect(synthesized).toHaveResourceWithProperties({ tfResourceType: "terraform_data" }, {
      triggers_replace: { kind: "disk", name: "shop-db", project: "shop", root: "/srv/shop" },
    });
    expect(synthesized).toHaveResourceWithProperties({ tfResourceType: "terraform_data" }, {
      triggers_replace: expect.objectContaining({ service: "db", mount_path: "/var/lib/db", storage: "shop-db" }),
    });
  });

  it("refuses a disk larger than the project allows, naming the prop", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "test");
    const project = new StorageProject(stack, "shop", { root: "/srv/shop" });
    new Disk(project, "db", { name: "shop-db", sizeGb: 501 });
    expect(() => Testing.synth(stack, true)).toThrow(/sizeGb/);
  });
});
`,
  );
}

/** What the shop app made on the host under `root`: its disk image and whether the db service's path is a mount. */
export function shopOnHost(root: string): { image: boolean; mounted: boolean } {
  const image = imagePath(root, 'disk', SHOP.project, SHOP.disk);
  const hostPath = replicaHostPath(root, SHOP.project, SHOP.service, 1, SHOP.mountPath);
  const unescape = (field: string) =>
    field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  const mounted = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => unescape(line.split(' ')[4] ?? '') === hostPath);
  return { image: fs.existsSync(image), mounted };
}
