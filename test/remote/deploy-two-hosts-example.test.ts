/**
 * The two-host example (examples/two-hosts.ts) deployed as the README says, to two loopback sshd "hosts"
 * with their own roots: `hoststore apply` reaches both, each gets only its own project, a second plan is
 * empty, and `hoststore destroy` leaves nothing mounted or attached on either.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { imagePath, replicaHostPath } from '../../src/schema.js';
import { readMountTable } from '../../provider/host/mounts.js';
import { hostLoopsUnder, hostMountsUnder, hostSkipReason } from '../helpers/host-fixture.js';
import { CLI, hoststore } from '../helpers/cli.js';
import { startSshHost, type SshHost } from '../helpers/sshd.js';

/** The example's app entry as built (`npm run build`), which the README tells users to run. */
const APP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/examples/two-hosts-app.js');

const skip =
  hostSkipReason('sshd') ??
  ([CLI, APP].every((f) => fs.existsSync(f)) ? undefined : `${CLI} or ${APP} is not built (npm run build)`);
if (skip) process.stderr.write(`skipping the two-host example: ${skip}\n`);
const remoteTest = skip ? test.skip : test;

const hosts: SshHost[] = [];
let workDir = '';
beforeAll(async () => {
  if (skip) return;
  hosts.push(await startSshHost(), await startSshHost());
});
afterAll(async () => {
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  for (const host of hosts.splice(0)) await host.stop();
});

/** A run's exit status, with its output when it is not the expected one (so a failure shows why). */
const statusOf = (run: { status: number | null; stdout: string; stderr: string }, expected = 0) =>
  run.status === expected ? run.status : `${run.status}: ${run.stderr}${run.stdout}`;
const mounted = (target: string) => readMountTable().some((e) => e.target === target);

remoteTest('the two-host example deploys each project to its own host, and destroys cleanly', () => {
  const [dbHost, mediaHost] = hosts;
  // GIVEN the example's app pointed at the two hosts as the README says (HOSTSTORE_EXAMPLE_HOSTS), synthesized
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-two-hosts-'));
  const app = path.join(workDir, 'cdktf.out');
  const hostsJson = JSON.stringify([
    { ...dbHost.connection, root: dbHost.root },
    { ...mediaHost.connection, root: mediaHost.root },
  ]);
  const synth = spawnSync(process.execPath, [APP], {
    cwd: workDir,
    encoding: 'utf8',
    env: { ...process.env, HOSTSTORE_EXAMPLE_HOSTS: hostsJson },
  });
  expect(synth.status === 0 ? 0 : synth.stderr).toBe(0);

  // WHEN it is applied with the engine
  const applied = hoststore(['apply', '--app', app, '--auto-approve']);
  expect(statusOf(applied)).toBe(0);
  // THEN the database disk is on the first host, mounted, with its policy's cron entry there
  const pgPath = replicaHostPath(dbHost.root, 'shop-db', 'db', 1, '/var/lib/postgresql/data');
  expect(mounted(pgPath)).toBe(true);
  expect(fs.existsSync(imagePath(dbHost.root, 'disk', 'shop-db', 'shop-postgres'))).toBe(true);
  expect(fs.readdirSync(dbHost.cronDir)).toEqual([expect.stringMatching(/^hoststore-shop-db_nightly_/)]);
  // AND the media volumes on the second, mounted for both replicas, and nothing of either on the other
  for (const replica of [1, 2])
    expect(mounted(replicaHostPath(mediaHost.root, 'shop-media', 'web', replica, '/srv/images'))).toBe(true);
  expect(mounted(replicaHostPath(mediaHost.root, 'shop-media', 'resizer', 1, '/var/cache/thumbs'))).toBe(true);
  expect(fs.existsSync(path.join(dbHost.root, 'projects', 'shop-media'))).toBe(false);
  expect(fs.existsSync(path.join(mediaHost.root, 'projects', 'shop-db'))).toBe(false);
  expect(fs.existsSync(imagePath(mediaHost.root, 'disk', 'shop-db', 'shop-postgres'))).toBe(false);

  // AND a second plan has nothing to do on either host
  const plan = hoststore(['plan', '--app', app, '--detailed-exitcode']);
  expect(statusOf(plan)).toBe(0);

  // WHEN it is destroyed THEN nothing is mounted or attached under either root (the data is retained)
  const destroyed = hoststore(['destroy', '--app', app, '--auto-approve']);
  expect(statusOf(destroyed)).toBe(0);
  for (const host of hosts) {
    expect(hostMountsUnder(host.root).filter((t) => t !== host.root)).toEqual([]);
    expect(hostLoopsUnder(host.root)).toEqual([]);
  }
  expect(fs.existsSync(imagePath(dbHost.root, 'disk', 'shop-db', 'shop-postgres'))).toBe(true);
});

(fs.existsSync(APP) ? test : test.skip)(
  'a HOSTSTORE_EXAMPLE_HOSTS that is not two hosts is one line, and nothing is synthesized',
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-two-hosts-bad-'));
    try {
      for (const bad of ['[{"address":"a"}]', '{', '[1,2]']) {
        const run = spawnSync(process.execPath, [APP], {
          cwd: dir,
          encoding: 'utf8',
          env: { ...process.env, HOSTSTORE_EXAMPLE_HOSTS: bad },
        });
        expect(run.status).toBe(2);
        expect(run.stderr).toBe(
          `HOSTSTORE_EXAMPLE_HOSTS must be a JSON array of two hosts, each {"address": ..., "identityFile"?: ..., "knownHostsFile"?: ..., "port"?: ..., "user"?: ..., "root"?: ...} (got ${JSON.stringify(bad)})\n`,
        );
        expect(fs.readdirSync(dir)).toEqual([]);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
