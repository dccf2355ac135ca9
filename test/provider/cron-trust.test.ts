/**
 * A policy's cron entry runs node and the hoststore CLI as root every minute: it is only written when no
 * one but root can change those files or the directories above them, and its paths are quoted for sh.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { cronEntryPath } from '../../provider/handlers/snapshot-policy.js';
import { hostTest, hostWithCronDir } from '../helpers/host-fixture.js';
import { storageWire } from '../helpers/specs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NOBODY = 65534;

const fx = hostWithCronDir();
let appDir: string;
beforeEach(() => {
  appDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-cron-app-')));
});
afterEach(() => fs.rmSync(appDir, { recursive: true, force: true }));

const policyWire = () => ({
  root: fx.host.root,
  project: 'app',
  policy: 'nightly',
  storage: 'data',
  storage_kind: 'directory',
  stack: 'test',
  schedule: '0 4 * * *',
  retention_days: '',
  retention_count: '2',
  max_freeze_seconds: '',
});

/** Installs the built package into `<app>/node_modules/cdktf-hoststore` as npm would (its dependencies linked). */
function installPackage(app: string): string {
  const pkg = path.join(app, 'node_modules', 'cdktf-hoststore');
  fs.mkdirSync(path.join(pkg, 'dist'), { recursive: true });
  for (const dir of ['provider', 'src'])
    fs.cpSync(path.join(REPO, 'dist', dir), path.join(pkg, 'dist', dir), { recursive: true });
  fs.copyFileSync(path.join(REPO, 'package.json'), path.join(pkg, 'package.json'));
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(pkg, 'node_modules'));
  return path.join(pkg, 'dist', 'provider', 'cli.js');
}

/** `hoststore handle snapshot-policy converge` run from that installed copy, as Terraform runs it. */
function convergeWith(cli: string, node = process.execPath) {
  const r = spawnSync(node, [cli, 'handle', 'snapshot-policy', 'converge'], {
    encoding: 'utf8',
    env: { ...process.env, HOSTSTORE_SPEC: JSON.stringify(policyWire()), HOSTSTORE_CRON_DIR: fx.cronDir },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const entry = () => cronEntryPath({ ...policyWire() });
const prepareStorage = () =>
  converge(
    storageHandler,
    makeContext(fx.host.root, { log: () => undefined }),
    storageHandler.validate(storageWire(fx.host.root, { kind: 'directory', size_gb: '', filesystem: '' })),
  );

hostTest()('an entry that would run a CLI a non-root user can change is refused with one line', async () => {
  await prepareStorage();
  const cli = installPackage(appDir);
  const pkgDir = path.dirname(path.dirname(path.dirname(cli)));
  const cases: Array<[string, () => void, () => void, RegExp]> = [
    // the app's node_modules owned by a user (npm install run as that user)
    [
      'owned by a user',
      () => fs.chownSync(path.join(appDir, 'node_modules'), NOBODY, NOBODY),
      () => fs.chownSync(path.join(appDir, 'node_modules'), 0, 0),
      new RegExp(`${path.join(appDir, 'node_modules')}.*not owned by root.*nobody.*chown -R root:root`),
    ],
    // the CLI file itself writable by its group
    [
      'group-writable',
      () => fs.chmodSync(cli, 0o775),
      () => fs.chmodSync(cli, 0o755),
      new RegExp(`${cli}.*writable by group or others.*0775`),
    ],
    // the package directory reached through a symlink to a user's directory
    [
      'a symlink to a user directory',
      () => {
        fs.renameSync(pkgDir, `${pkgDir}.real`);
        fs.chownSync(`${pkgDir}.real`, NOBODY, NOBODY);
        fs.symlinkSync(`${pkgDir}.real`, pkgDir);
      },
      () => {
        fs.rmSync(pkgDir);
        fs.chownSync(`${pkgDir}.real`, 0, 0);
        fs.renameSync(`${pkgDir}.real`, pkgDir);
      },
      new RegExp(`${pkgDir}\\.real.*not owned by root`),
    ],
    // the app's own directory, above node_modules, owned by a user: the fix is a global install, not a chown of it
    [
      'an app directory owned by a user',
      () => fs.chownSync(appDir, NOBODY, NOBODY),
      () => fs.chownSync(appDir, 0, 0),
      new RegExp(
        `: ${appDir} is not owned by root.*fix: install hoststore globally as root \\(npm install -g cdktf-hoststore\\) and set the StorageProject's cli: 'hoststore'$`,
      ),
    ],
  ];
  for (const [what, damage, repair, message] of cases) {
    // GIVEN the installed CLI, damaged; WHEN the policy is converged THEN it is refused and no entry is written
    damage();
    const r = convergeWith(cli);
    repair();
    expect({ what, status: r.status }).toEqual({ what, status: 3 });
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(fs.existsSync(entry())).toBe(false);
  }
  // GIVEN node itself in a directory a user owns THEN it is refused too
  const userBin = path.join(appDir, 'bin');
  fs.mkdirSync(userBin);
  fs.copyFileSync(process.execPath, path.join(userBin, 'node'));
  fs.chmodSync(path.join(userBin, 'node'), 0o755);
  fs.chownSync(userBin, NOBODY, NOBODY);
  const byUserNode = convergeWith(cli, path.join(userBin, 'node'));
  expect(byUserNode.status).toBe(3);
  expect(byUserNode.stderr).toMatch(
    new RegExp(`refusing to run node ${userBin}/node as root from cron: ${userBin} is not owned by root`),
  );
  expect(fs.existsSync(entry())).toBe(false);
  // WHEN everything is root's again THEN the entry is written
  expect(convergeWith(cli)).toMatchObject({ status: 0 });
  expect(fs.existsSync(entry())).toBe(true);
});

hostTest()('paths with a space are quoted for sh: the entry runs run-due as cron would', async () => {
  await prepareStorage();
  // GIVEN the package installed (root-owned) in an app whose path has a space
  const cli = installPackage(path.join(appDir, 'my app'));
  expect(convergeWith(cli)).toMatchObject({ status: 0 });
  const line = fs
    .readFileSync(entry(), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('* * * * * root '))!;
  expect(line).toContain(`'${cli}'`);
  // WHEN cron's /bin/sh runs the command THEN run-due runs for the root
  const command = line.slice('* * * * * root '.length).replace(/ >\/dev\/null$/, '');
  const r = spawnSync('/bin/sh', ['-c', `${command} --json`], {
    encoding: 'utf8',
    env: { ...process.env, HOSTSTORE_CRON_DIR: fx.cronDir },
  });
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toMatchObject({ taken: [] });
});
