/**
 * The remote path end to end: `cdktf deploy` run by an unprivileged local user (nobody) onto a storage host
 * reached over real OpenSSH (a loopback sshd running as root, its key restricted to `hoststore remote` as the
 * README recommends), then a grow and a read-only toggle with the data kept, a no-op redeploy, and destroy.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { imagePath, replicaHostPath } from '../../src/schema.js';
import { Registry } from '../../provider/registry/store.js';
import { readMountTable } from '../../provider/host/mounts.js';
import { hostLoopsUnder, hostMountsUnder, hostSkipReason } from '../helpers/host-fixture.js';
import { CdktfApp, terraformAvailable, type AppModel } from '../helpers/cdktf-app.js';
import { CLI } from '../helpers/cli.js';
import { NOBODY, repoForNobody, runAsNobody, type NobodyRepo } from '../helpers/nobody.js';
import { startSshHost, type SshHost } from '../helpers/sshd.js';

const skip =
  hostSkipReason('sshd', 'setpriv') ??
  (terraformAvailable() ? undefined : 'terraform is not on the PATH') ??
  (fs.existsSync(CLI) ? undefined : `${CLI} is not built (npm run build)`);
if (skip) process.stderr.write(`skipping remote deploy tests: ${skip}\n`);
const remoteTest = skip ? test.skip : test;

/**
 * A stack name full of what a shell would act on (cdktf refuses whitespace and glob characters, and turns
 * `/` into `--`): it travels to the host as HOSTSTORE_STACK and must arrive intact and inert.
 */
const STACK = `e2e;$(touch$IFS.pwned)\`touch$IFS.pwned\`&|<>'"`;
const CANARY = '.pwned';
/** A mount path with every character the schema allows beyond letters, digits, `.`, `_` and `-`. */
const MOUNT_PATH = '/srv/app@v1+blue=on';

let host: SshHost | undefined;
let app: CdktfApp | undefined;
let home = '';
/** This build where nobody can read it (a copy of links when the clone is in a directory only root enters). */
let build: NobodyRepo | undefined;

beforeAll(async () => {
  if (skip) return;
  build = repoForNobody();
  host = await startSshHost({ clientOwner: NOBODY });
  // The README's advice for the CI key: it may run `hoststore remote` and nothing else.
  const authorizedKeys = path.join(host.dir, 'authorized_keys');
  fs.writeFileSync(authorizedKeys, `restrict,command="hoststore remote" ${fs.readFileSync(authorizedKeys, 'utf8')}`);
});

afterAll(async () => {
  app?.cleanup();
  if (home) fs.rmSync(home, { recursive: true, force: true });
  await host?.stop();
  build?.release();
});

/** nobody's HOME, with the empty Terraform CLI config and a log of every local hoststore invocation. */
function makeHome(): { dir: string; cli: string; calls(): string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-e2e-home-'));
  fs.writeFileSync(path.join(dir, 'empty.tfrc'), '');
  const log = path.join(dir, 'calls.log');
  const cli = path.join(dir, 'hoststore-wrapper');
  // Each provisioner's hoststore process logs the uid it runs as and its arguments, then runs the real CLI.
  fs.writeFileSync(
    cli,
    `#!/bin/sh\nprintf '%s %s\\n' "$(id -u)" "$*" >> '${log}'\nexec '${process.execPath}' '${build!.cli}' "$@"\n`,
    {
      mode: 0o755,
    },
  );
  for (const f of [dir, path.join(dir, 'empty.tfrc'), cli]) fs.chownSync(f, NOBODY.uid, NOBODY.gid);
  return {
    dir,
    cli,
    calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
  };
}

/** Gives `dir` and everything in it to nobody (the app's files as root wrote them). */
function chownTree(dir: string): void {
  fs.chownSync(dir, NOBODY.uid, NOBODY.gid);
  for (const entry of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, entry);
    if (!fs.lstatSync(p).isSymbolicLink()) fs.chownSync(p, NOBODY.uid, NOBODY.gid);
  }
}

/** `cdktf ARGS` in the app as nobody (no groups, HOME its own); throws with the output on failure. */
function cdktfAsNobody(dir: string, ...args: string[]): string {
  const result = asNobody(dir, path.join(build!.repo, 'node_modules', '.bin', 'cdktf'), args);
  const output = `${result.stdout}\n${result.stderr}`;
  if (result.status !== 0)
    throw new Error(`cdktf ${args.join(' ')} as nobody failed (${result.status}):\n${output.slice(-4000)}`);
  return output;
}

/** Runs `command ARGS` in `dir` as nobody, with nothing of root's environment but PATH. */
function asNobody(dir: string, command: string, args: string[]) {
  chownTree(dir);
  return runAsNobody(command, args, {
    cwd: dir,
    env: {
      PATH: `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
      HOME: home,
      TMPDIR: home,
      // hoststore's ssh configs and sockets go here (a short path: a socket's must fit 104 bytes).
      XDG_RUNTIME_DIR: home,
      TF_CLI_CONFIG_FILE: path.join(home, 'empty.tfrc'),
      CHECKPOINT_DISABLE: '1',
      CI: '1',
      FORCE_COLOR: '0',
      NO_COLOR: '1',
    },
  });
}

remoteTest(
  'cdktf deploy as nobody onto a root remote host: grow and read-only toggle keep the data, a no-op runs nothing, destroy leaves nothing attached',
  () => {
    const remote = host as SshHost;
    const local = makeHome();
    home = local.dir;
    app = new CdktfApp(build!.repo);
    const model = (options: { dbSize?: number; readOnly?: boolean } = {}): AppModel => ({
      stack: STACK,
      root: remote.root,
      cli: local.cli,
      host: remote.connection,
      storage: [
        {
          id: 'db',
          type: 'Volume',
          props: { sizeGb: options.dbSize ?? 1 },
          mounts: [{ id: 'db-mount', service: 'web', mountPath: MOUNT_PATH }],
          policy: { id: 'nightly', schedule: '0 4 * * *', retentionDays: 7 },
        },
        {
          id: 'models',
          type: 'Volume',
          props: { sizeGb: 1, shared: true },
          mounts: [
            {
              id: 'models-mount',
              service: 'inference',
              mountPath: '/models',
              replicas: 2,
              readOnly: options.readOnly ?? false,
            },
          ],
        },
      ],
    });
    const dbPath = replicaHostPath(remote.root, 'app', 'web', 1, MOUNT_PATH);
    const modelsPath = (replica: number) => replicaHostPath(remote.root, 'app', 'inference', replica, '/models');
    const entryAt = (target: string) => [...readMountTable()].reverse().find((e) => e.target === target);

    // GIVEN a stack whose project is on the remote host, deployed by nobody
    app.write(model());
    cdktfAsNobody(app.dir, 'deploy', '--auto-approve');
    // THEN the storage is made and mounted on the host, by the host's root
    expect(entryAt(dbPath)).toMatchObject({ fstype: 'ext4', readOnly: false });
    expect(entryAt(modelsPath(2))).toMatchObject({ fstype: 'ext4', readOnly: false });
    expect(fs.statSync(imagePath(remote.root, 'volume', 'app', 'db-1')).uid).toBe(0);
    // AND every local hoststore process ran as nobody
    expect(local.calls().length).toBeGreaterThan(0);
    expect(local.calls().every((line) => line.startsWith(`${NOBODY.uid} handle `))).toBe(true);
    // AND kept its ssh configs and sockets in its own runtime directory, nowhere shared
    expect(fs.statSync(path.join(home, 'hoststore-ssh')).uid).toBe(NOBODY.uid);
    // AND the stack name reached the host intact, and nothing in it ran
    const registry = () => new Registry(remote.root);
    expect(registry().storage('volume', 'app', 'db-1')).toMatchObject({ project: 'app', stack: STACK });
    expect(fs.readdirSync(remote.cronDir)).toEqual([expect.stringMatching(/^hoststore-app_nightly_db-1_/)]);
    // AND Terraform's state names the host, but holds neither the key nor its path
    // (not .terraform/terraform.tfstate: that is the backend's settings, not the state)
    const states = (fs.readdirSync(app.dir, { recursive: true }) as string[]).filter(
      (f) => f.endsWith('.tfstate') && !f.includes('.terraform/'),
    );
    expect(states).not.toEqual([]);
    for (const state of states) {
      const text = fs.readFileSync(path.join(app.dir, state), 'utf8');
      expect(text).toContain(`"host": "${remote.connection.address}"`);
      expect(text).not.toContain(remote.connection.identityFile);
      expect(text).not.toContain('PRIVATE KEY');
    }
    fs.writeFileSync(path.join(dbPath, 'PG_VERSION'), '16');
    fs.writeFileSync(path.join(modelsPath(1), 'weights.bin'), 'w');

    // WHEN the volume grows and the shared mount turns read-only
    app.write(model({ dbSize: 2, readOnly: true }));
    cdktfAsNobody(app.dir, 'deploy', '--auto-approve');
    // THEN the filesystem is bigger and both replicas read-only, with the data kept
    const statfs = fs.statfsSync(dbPath);
    expect(statfs.blocks * statfs.bsize).toBeGreaterThan(1.5 * 1024 ** 3);
    expect(fs.readFileSync(path.join(dbPath, 'PG_VERSION'), 'utf8')).toBe('16');
    expect(entryAt(modelsPath(1))?.readOnly).toBe(true);
    expect(entryAt(modelsPath(2))?.readOnly).toBe(true);
    expect(fs.readFileSync(path.join(modelsPath(2), 'weights.bin'), 'utf8')).toBe('w');

    // WHEN the same stack is deployed again THEN no hoststore process runs, here or there
    const before = local.calls().length;
    const noop = cdktfAsNobody(app.dir, 'deploy', '--auto-approve');
    expect(noop).toMatch(/No changes|0 added, 0 changed, 0 destroyed/);
    expect(local.calls().length).toBe(before);
    // AND the README workflow's plan step, run by nobody, sees nothing to do on the host
    const plan = asNobody(app.dir, process.execPath, [build!.cli, 'plan', '--app', 'cdktf.out', '--detailed-exitcode']);
    expect(plan.status === 0 ? 0 : `${plan.status}: ${plan.stderr}${plan.stdout}`).toBe(0);

    // WHEN the stack is destroyed THEN nothing stays mounted or attached under the host's root; data is retained
    cdktfAsNobody(app.dir, 'destroy', '--auto-approve');
    expect(hostMountsUnder(remote.root).filter((t) => t !== remote.root)).toEqual([]);
    expect(hostLoopsUnder(remote.root)).toEqual([]);
    expect(registry().storage('volume', 'app', 'db-1')?.state).toBe('retained');
    expect(fs.existsSync(imagePath(remote.root, 'volume', 'app', 'models'))).toBe(true);
    expect(fs.readdirSync(remote.cronDir)).toEqual([]);
    // AND the shell characters in the stack name never ran anywhere
    for (const dir of [
      app.dir,
      path.join(app.dir, 'cdktf.out', 'stacks', STACK),
      home,
      remote.dir,
      remote.root,
      '/root',
      '/',
    ])
      expect(fs.existsSync(path.join(dir, CANARY))).toBe(false);
  },
);
