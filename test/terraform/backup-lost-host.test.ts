/**
 * Losing a host, end to end with real Terraform, as the README walks through it: the offsite-backups example
 * (a disk, a nightly policy replicated to a BackupRepository, `fromBackup` on the disk) deployed onto one root
 * with `terraform apply`; data written; `snapshot run-due` at the policy's hour pushes it; then a second,
 * fresh root standing for a new host gets the same stack: the disk comes up from the backup with the data.
 * Terraform's state and the registry hold the password file's path, never its content.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { replicaHostPath } from '../../src/schema.js';
import { hostSkipReason, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { terraformAvailable } from '../helpers/cdktf-app.js';
import { terraformIn } from '../helpers/terraform.js';
import { CLI, hoststore } from '../helpers/cli.js';
import {
  localRepository,
  resticAvailable,
  rootResticCacheEntries,
  type ResticRepositoryFixture,
} from '../helpers/restic.js';

/** The example's app entry as built (`npm run build`), which the README tells users to run. */
const APP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/examples/offsite-backups-app.js');
const STACK = 'offsite-backups';

const skip =
  hostSkipReason('mkfs.ext4') ??
  (terraformAvailable() ? undefined : 'terraform is not on the PATH') ??
  (resticAvailable() ? undefined : 'restic is not installed (apt-get install restic)') ??
  ([CLI, APP].every((f) => fs.existsSync(f)) ? undefined : `${CLI} or ${APP} is not built (npm run build)`);
if (skip) process.stderr.write(`skipping the lost-host test: ${skip}\n`);
const e2eTest = skip ? test.skip : test;

const hosts: HostFixture[] = [];
const dirs: string[] = [];
let repo: ResticRepositoryFixture | undefined;
afterEach(() => {
  // Each "host" first (its mounts and loops), then the app directories and the repository.
  for (const host of hosts.splice(0)) host.cleanup();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  repo?.cleanup();
  repo = undefined;
});

/** Output with the status, so a failure shows why. */
const ok = (run: { status: number | null; output?: string; stdout?: string; stderr?: string }) =>
  run.status === 0 ? 0 : `${run.status}: ${run.output ?? `${run.stderr}${run.stdout}`}`;

/**
 * The example synthesized for `root` (its own working dir, cron dir and Terraform state), then
 * `terraform init` and `terraform apply` as cdktf deploy runs them. Returns the state file's path.
 */
function deployExample(root: string, repository: ResticRepositoryFixture): { state: string; cronDir: string } {
  const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-lost-host-')));
  dirs.push(work);
  const cronDir = path.join(work, 'cron.d');
  const env = {
    ...process.env,
    HOSTSTORE_ROOT: root,
    HOSTSTORE_EXAMPLE_SIZE_GB: '1',
    HOSTSTORE_EXAMPLE_REPOSITORY: JSON.stringify(repository.props()),
    HOSTSTORE_EXAMPLE_STATE_DIR: path.join(work, 'state'),
    HOSTSTORE_CRON_DIR: cronDir,
  };
  const synth = spawnSync(process.execPath, [APP], { cwd: work, encoding: 'utf8', env });
  expect(ok({ status: synth.status, output: synth.stderr })).toBe(0);
  const tf = terraformIn(work, path.join(work, 'cdktf.out', 'stacks', STACK));
  expect(ok(tf.run(['init', '-input=false']))).toBe(0);
  expect(ok(tf.run(['apply', '-auto-approve', '-input=false'], { HOSTSTORE_CRON_DIR: cronDir }))).toBe(0);
  return { state: path.join(work, 'state', `terraform.${STACK}.tfstate`), cronDir };
}

const dataDir = (root: string) => replicaHostPath(root, 'shop', 'db', 1, '/var/lib/postgresql/data');

/** The next time the example's policy (`0 4 * * *`, UTC) fires after now, plus 30 s. */
function nextFourOClock(): string {
  const now = new Date();
  const at = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 4, 0, 30));
  if (at.getTime() <= now.getTime()) at.setUTCDate(at.getUTCDate() + 1);
  return at.toISOString();
}

e2eTest('the example deployed onto a new host brings the disk back from the off-host backup', () => {
  // GIVEN the example deployed onto host A with a repository on a local path, and data in its disk
  const cacheBefore = rootResticCacheEntries();
  repo = localRepository();
  const hostA = makeHostFixture('hoststore-host-a-');
  hosts.push(hostA);
  const a = deployExample(hostA.root, repo);
  const pgversion = path.join(dataDir(hostA.root), 'PG_VERSION');
  fs.writeFileSync(pgversion, '16\n');
  const table = Buffer.alloc(3 * 1024 * 1024, 7);
  fs.writeFileSync(path.join(dataDir(hostA.root), 'table.dat'), table);

  // WHEN cron's run-due runs at the policy's hour: a snapshot is taken, then pushed
  const due = hoststore(['snapshot', 'run-due', '--root', hostA.root], undefined, {
    HOSTSTORE_NOW: nextFourOClock(),
    HOSTSTORE_CRON_DIR: a.cronDir,
  });
  expect(ok(due)).toBe(0);
  // THEN the repository holds one backup of shop-postgres, tagged for hoststore
  const backups = repo.snapshots();
  expect(backups).toHaveLength(1);
  expect(backups[0].tags).toEqual(
    expect.arrayContaining(['hoststore', 'hs-kind=disk', 'hs-project=shop', 'hs-storage=shop-postgres']),
  );
  const status = hoststore(['backup', 'status', '--json', '--root', hostA.root]);
  expect(ok(status)).toBe(0);
  expect(JSON.stringify(JSON.parse(status.stdout))).toMatch(/"in-sync"/);

  // WHEN host A is lost and the same stack is deployed onto host B (fresh root, nothing of A's)
  hosts.splice(hosts.indexOf(hostA), 1);
  hostA.cleanup();
  const hostB = makeHostFixture('hoststore-host-b-');
  hosts.push(hostB);
  const b = deployExample(hostB.root, repo);

  // THEN the disk on B holds A's data, byte for byte, mounted where the service expects it
  expect(fs.readFileSync(path.join(dataDir(hostB.root), 'PG_VERSION'), 'utf8')).toBe('16\n');
  expect(fs.readFileSync(path.join(dataDir(hostB.root), 'table.dat')).equals(table)).toBe(true);
  // AND neither Terraform state nor either registry holds the password; the cache stayed under the roots
  for (const state of [a.state, b.state]) {
    const text = fs.readFileSync(state, 'utf8');
    expect(text).toContain(repo.passwordFile);
    expect(text).not.toContain(repo.password);
  }
  const registryB = fs.readdirSync(path.join(hostB.root, 'registry'), { recursive: true }) as string[];
  for (const file of registryB) {
    const full = path.join(hostB.root, 'registry', file);
    if (fs.statSync(full).isFile()) expect(fs.readFileSync(full, 'utf8')).not.toContain(repo.password);
  }
  expect(rootResticCacheEntries()).toEqual(cacheBefore);

  // AND a second apply on B changes nothing (fromBackup is ignored once the disk exists)
  const tf = terraformIn(
    path.dirname(path.dirname(b.state)),
    path.join(path.dirname(path.dirname(b.state)), 'cdktf.out', 'stacks', STACK),
  );
  const plan = tf.run(['plan', '-detailed-exitcode', '-input=false']);
  expect(plan.status === 0 ? 0 : plan.output).toBe(0);
});
