/**
 * The snapshot-policy handler with `replicate_to` (issue 13): it records where a policy's snapshots are
 * pushed and the repository itself (paths, never secrets), refuses at diff time what this host cannot do
 * (restic missing, secret files others can read), and keeps the repository's record when replication stops
 * or the policy goes. Real root, real directory storage, real cron directory under the root.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { converge, makeContext, remove } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { cronEntryPath, snapshotPolicyHandler, type PolicyRecord } from '../../provider/handlers/snapshot-policy.js';
import { REPOSITORIES, repositoryKey, type RepositoryRecord } from '../../provider/backup/records.js';
import { RESTIC_MISSING } from '../../provider/backup/preflight.js';
import { encodeFromBackup, encodeRepository, type BackupRepositoryWire } from '../../src/backup-spec.js';
import { classifyChanges } from '../../src/kinds.js';
import { RefusedError, SpecError } from '../../provider/errors.js';
import { hostWithCronDir } from '../helpers/host-fixture.js';
import { storageWire } from '../helpers/specs.js';
import { hoststore } from '../helpers/cli.js';
import { App, TerraformStack } from 'cdktf';
import { BackupRepository, SnapshotPolicy, StorageProject, Volume } from '../../src/index.js';

const fx = hostWithCronDir();
const SECRET = 'correct-horse-battery-staple';
let secrets: string;
let savedPath: string | undefined;
beforeEach(() => {
  // The secret files live beside the root's registry, in a root-only directory of the test's own.
  secrets = fx.host.path('secrets');
  fs.mkdirSync(secrets, { mode: 0o700 });
  fs.writeFileSync(path.join(secrets, 'offsite.pass'), SECRET, { mode: 0o600 });
  fs.writeFileSync(path.join(secrets, 'offsite.env'), `AWS_SECRET_ACCESS_KEY=${SECRET}\n`, { mode: 0o600 });
  savedPath = process.env.PATH;
});
afterEach(() => {
  process.env.PATH = savedPath;
});

const ctx = () => makeContext(fx.host.root, { log: () => undefined });
const repo = (overrides: Partial<BackupRepositoryWire> = {}): BackupRepositoryWire => ({
  name: 'offsite',
  url: fx.host.path('repo'),
  password_file: path.join(secrets, 'offsite.pass'),
  environment_file: path.join(secrets, 'offsite.env'),
  ...overrides,
});
const policyWire = (extra: Record<string, string> = {}) => ({
  root: fx.host.root,
  project: 'app',
  policy: 'nightly',
  storage: 'files',
  storage_kind: 'directory',
  stack: 'test',
  schedule: '0 4 * * *',
  retention_days: '7',
  retention_count: '',
  ...extra,
});
const replicated = (r: BackupRepositoryWire = repo(), extra: Record<string, string> = {}) =>
  snapshotPolicyHandler.validate(
    policyWire({ replicate_to: encodeRepository(r), remote_retention_days: '90', ...extra }),
  );
const policyRecord = () => ctx().registry.get<PolicyRecord>('policies', 'app_nightly_files');
const repositoryRecordOf = (name = 'offsite') =>
  ctx().registry.get<RepositoryRecord>(REPOSITORIES, repositoryKey('app', name));
const diffOf = (spec: ReturnType<typeof replicated>) =>
  snapshotPolicyHandler.diff(ctx(), spec, snapshotPolicyHandler.read(ctx(), spec));

async function withStorage(): Promise<void> {
  await converge(
    storageHandler,
    ctx(),
    storageHandler.validate(
      storageWire(fx.host.root, { kind: 'directory', name: 'files', size_gb: '', filesystem: '' }),
    ),
  );
}

/** Every registry file's text: what must never hold a secret. */
function registryText(): string {
  const dir = fx.host.path('registry');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
    .join('\n');
}

describe('wire', () => {
  test('a policy without the new fields parses exactly as before: no replication keys at all', () => {
    const spec = snapshotPolicyHandler.validate(policyWire());
    expect(Object.keys(spec)).not.toEqual(expect.arrayContaining(['replicate_to']));
    expect('replicate_to' in spec || 'remote_retention_days' in spec || 'remote_retention_count' in spec).toBe(false);
  });

  test('replicate_to is parsed into the repository; the retention fields into numbers', () => {
    const spec = replicated(repo(), { remote_retention_count: '12' });
    expect(spec.replicate_to).toEqual(repo());
    expect(spec.remote_retention_days).toBe(90);
    expect(spec.remote_retention_count).toBe(12);
  });

  test.each([
    [{ remote_retention_days: '30' }, 'remote_retention_days: applies only with replicate_to'],
    [{ remote_retention_count: '3' }, 'remote_retention_count: applies only with replicate_to'],
    [{ replicate_to: '{"name":"offsite"}' }, 'replicate_to: url: must be a string'],
    [{ replicate_to: 'not json' }, 'replicate_to: must be JSON written by the constructs'],
  ])('a tampered spec %j is refused naming the field', (extra, message) => {
    expect(() => snapshotPolicyHandler.validate(policyWire(extra))).toThrow(SpecError);
    expect(() => snapshotPolicyHandler.validate(policyWire(extra))).toThrow(message);
  });

  test('the contract table (what `hoststore diff` reads) classes the new fields: replicate_to readable, from_backup ignored', () => {
    const before = policyWire({ replicate_to: encodeRepository(repo()), remote_retention_days: '90' });
    const after = policyWire({
      replicate_to: encodeRepository(repo({ url: '/srv/elsewhere' })),
      remote_retention_count: '4',
    });
    expect(classifyChanges('snapshot-policy', before, after)).toEqual([
      {
        field: 'replicate_to',
        from: `offsite (${fx.host.path('repo')})`,
        to: 'offsite (/srv/elsewhere)',
        kind: 'setting',
        safety: 'safe',
        reason: `new pushes go to offsite (/srv/elsewhere); the backups already in offsite (${fx.host.path('repo')}) stay there`,
      },
      { field: 'remote_retention_days', from: '90', to: '', kind: 'setting', safety: 'safe' },
      { field: 'remote_retention_count', from: '', to: '4', kind: 'setting', safety: 'safe' },
    ]);
    const disk = storageWire(fx.host.root) as unknown as Record<string, string>;
    const restored = { ...disk, from_backup: encodeFromBackup({ repository: repo(), snapshot: 'latest' }) };
    expect(classifyChanges('storage', disk, restored)).toEqual([]);
  });

  test.each(['0', '36501', '1.5', ''])('remote_retention_days %j is refused', (days) => {
    expect(() => replicated(repo(), { remote_retention_days: days })).toThrow(/remote_retention_days: /);
  });
});

describe('converge', () => {
  test('records where it pushes and the repository (paths only, never the secret); converged after', async () => {
    await withStorage();
    // WHEN a replicated policy converges
    const diff = await converge(snapshotPolicyHandler, ctx(), replicated());
    expect(diff.action).toBe('create');
    // THEN the policy names its repository and remote retention
    expect(policyRecord()).toMatchObject({ replicateTo: 'offsite', remoteRetentionDays: 90 });
    expect(policyRecord()?.remoteRetentionCount).toBeUndefined();
    // AND the repository is recorded under its project and name, with the files' paths
    expect(repositoryRecordOf()).toEqual({
      project: 'app',
      name: 'offsite',
      url: fx.host.path('repo'),
      passwordFile: path.join(secrets, 'offsite.pass'),
      environmentFile: path.join(secrets, 'offsite.env'),
      updatedAt: expect.any(String),
    });
    expect(registryText()).not.toContain(SECRET);
    expect(fs.existsSync(cronEntryPath(replicated()))).toBe(true);
    // AND nothing is left to do
    expect(diffOf(replicated())).toEqual({ action: 'none', changes: [] });
  });

  test('a policy without replicate_to records nothing about backups', async () => {
    await withStorage();
    await converge(snapshotPolicyHandler, ctx(), snapshotPolicyHandler.validate(policyWire()));
    expect(policyRecord()).not.toHaveProperty('replicateTo');
    expect(policyRecord()).not.toHaveProperty('remoteRetentionDays');
    expect(ctx().registry.list(REPOSITORIES)).toEqual([]);
  });

  test('another URL: a setting that says old backups stay; the repository record follows', async () => {
    await withStorage();
    await converge(snapshotPolicyHandler, ctx(), replicated());
    const moved = replicated(repo({ url: 'sftp:backup@backup-2.internal:/srv/hoststore' }));
    expect(diffOf(moved).changes).toEqual([
      {
        field: 'replicate_to',
        from: `offsite (${fx.host.path('repo')})`,
        to: 'offsite (sftp:backup@backup-2.internal:/srv/hoststore)',
        kind: 'setting',
        safety: 'safe',
        reason: `new pushes go to offsite (sftp:backup@backup-2.internal:/srv/hoststore); the backups already in offsite (${fx.host.path('repo')}) stay there`,
      },
    ]);
    await converge(snapshotPolicyHandler, ctx(), moved);
    expect(repositoryRecordOf()?.url).toBe('sftp:backup@backup-2.internal:/srv/hoststore');
    expect(diffOf(moved)).toEqual({ action: 'none', changes: [] });
  });

  test('another password file, same URL: said as such', async () => {
    await withStorage();
    await converge(snapshotPolicyHandler, ctx(), replicated());
    fs.writeFileSync(path.join(secrets, 'other.pass'), SECRET, { mode: 0o600 });
    const changed = replicated(repo({ password_file: path.join(secrets, 'other.pass') }));
    expect(diffOf(changed).changes).toEqual([
      expect.objectContaining({
        field: 'replicate_to',
        kind: 'setting',
        reason: `offsite (${fx.host.path('repo')}): its password_file changed; the next push uses the new values`,
      }),
    ]);
  });

  test('remote retention changes are settings', async () => {
    await withStorage();
    await converge(snapshotPolicyHandler, ctx(), replicated());
    const changed = replicated(repo(), { remote_retention_days: '30', remote_retention_count: '5' });
    expect(diffOf(changed).changes).toEqual([
      { field: 'remote_retention_days', from: '90', to: '30', kind: 'setting', safety: 'safe' },
      { field: 'remote_retention_count', from: '', to: '5', kind: 'setting', safety: 'safe' },
    ]);
    await converge(snapshotPolicyHandler, ctx(), changed);
    expect(policyRecord()).toMatchObject({ remoteRetentionDays: 30, remoteRetentionCount: 5 });
  });

  test('replication stops: the change says the pushed backups stay; the repository record is kept', async () => {
    await withStorage();
    await converge(snapshotPolicyHandler, ctx(), replicated());
    const plain = snapshotPolicyHandler.validate(policyWire());
    const diff = snapshotPolicyHandler.diff(ctx(), plain, snapshotPolicyHandler.read(ctx(), plain));
    expect(diff.changes).toContainEqual(
      expect.objectContaining({
        field: 'replicate_to',
        to: '',
        kind: 'setting',
        safety: 'safe',
        reason: expect.stringContaining(
          `pushes stop; the backups already in offsite (${fx.host.path('repo')}) stay there`,
        ),
      }),
    );
    await converge(snapshotPolicyHandler, ctx(), plain);
    expect(policyRecord()).not.toHaveProperty('replicateTo');
    expect(repositoryRecordOf()).toBeDefined();
  });

  test('the repository record removed by hand is a repair that converge rewrites', async () => {
    await withStorage();
    await converge(snapshotPolicyHandler, ctx(), replicated());
    ctx().registry.remove(REPOSITORIES, repositoryKey('app', 'offsite'));
    expect(diffOf(replicated()).changes).toEqual([
      expect.objectContaining({ field: 'repository', kind: 'repair', safety: 'safe' }),
    ]);
    await converge(snapshotPolicyHandler, ctx(), replicated());
    expect(repositoryRecordOf()?.url).toBe(fx.host.path('repo'));
  });

  test('delete removes the policy and keeps the repository record, and says the backups stay', async () => {
    await withStorage();
    await converge(snapshotPolicyHandler, ctx(), replicated());
    const lines: string[] = [];
    await remove(snapshotPolicyHandler, makeContext(fx.host.root, { log: (l) => lines.push(l) }), replicated());
    expect(policyRecord()).toBeUndefined();
    expect(repositoryRecordOf()).toBeDefined();
    expect(lines.join('\n')).toContain('its backups stay in backup repository offsite');
  });
});

describe('preflight at diff time', () => {
  test('a password file others can read is refused before anything is written', async () => {
    await withStorage();
    const file = path.join(secrets, 'offsite.pass');
    fs.chmodSync(file, 0o644);
    // THEN the diff (what plan and the handler show) carries the refusal, naming the file and the fix
    const diff = diffOf(replicated());
    expect(diff.changes).toContainEqual({
      field: 'password_file',
      kind: 'refused',
      safety: 'refused',
      reason: `backup repository offsite's password file ${file} is open to group or others (mode 0644), so others could read the secret; fix: chmod 600 ${file}`,
    });
    // AND converge refuses with nothing recorded and no cron entry
    await expect(converge(snapshotPolicyHandler, ctx(), replicated())).rejects.toThrow(RefusedError);
    expect(policyRecord()).toBeUndefined();
    expect(repositoryRecordOf()).toBeUndefined();
    expect(fs.existsSync(cronEntryPath(replicated()))).toBe(false);
  });

  test('a missing environment file and a symlinked password file are each one refusal', async () => {
    await withStorage();
    const link = path.join(secrets, 'link.pass');
    fs.symlinkSync(path.join(secrets, 'offsite.pass'), link);
    const spec = replicated(repo({ password_file: link, environment_file: path.join(secrets, 'absent.env') }));
    const refused = diffOf(spec).changes.filter((c) => c.safety === 'refused');
    expect(refused.map((c) => c.reason)).toEqual([
      expect.stringContaining(`password file ${link} is a symlink`),
      expect.stringContaining(`environment file ${path.join(secrets, 'absent.env')} does not exist on this host`),
    ]);
  });

  test('restic missing from PATH is refused naming the package, on an existing policy too', async () => {
    await withStorage();
    await converge(snapshotPolicyHandler, ctx(), replicated());
    process.env.PATH = '/nonexistent-bin';
    const diff = diffOf(replicated());
    expect(diff).toEqual({
      action: 'update',
      changes: [{ field: 'restic', kind: 'refused', safety: 'refused', reason: RESTIC_MISSING }],
    });
    await expect(converge(snapshotPolicyHandler, ctx(), replicated())).rejects.toThrow(RESTIC_MISSING);
  });

  test('a policy that does not replicate needs no restic', async () => {
    await withStorage();
    process.env.PATH = '/nonexistent-bin';
    const plain = snapshotPolicyHandler.validate(policyWire());
    const diff = snapshotPolicyHandler.diff(ctx(), plain, undefined);
    expect(diff.changes.filter((c) => c.safety === 'refused')).toEqual([]);
  });
});

describe('hoststore plan', () => {
  /** A synth output: a directory volume and a policy replicating to `url`, under this test's root. */
  function synthOut(url: string, name: string): string {
    const outdir = fx.host.path(name);
    const app = new App({ outdir });
    const p = new StorageProject(new TerraformStack(app, 'st'), 'app', { root: fx.host.path('hs') });
    const files = new Volume(p, 'files', { type: 'directory' });
    const offsite = new BackupRepository(p, 'offsite', {
      repository: url,
      passwordFile: path.join(secrets, 'offsite.pass'),
    });
    new SnapshotPolicy(p, 'nightly', {
      storage: files,
      schedule: '0 4 * * *',
      replicateTo: offsite,
      remoteRetentionDays: 90,
    });
    app.synth();
    return outdir;
  }
  const plan = (out: string, env: NodeJS.ProcessEnv = {}) =>
    hoststore(['plan', '--app', out], undefined, { HOSTSTORE_CRON_DIR: fx.cronDir, ...env });

  test('a new replicated policy says where it pushes; a new URL says the old backups stay', () => {
    const first = synthOut(fx.host.path('repo-a'), 'out-a');
    const created = plan(first);
    expect(created.status).toBe(0);
    expect(created.stdout).toContain(
      `replicate_to: ∅ -> offsite (${fx.host.path('repo-a')}) (each new scheduled snapshot is pushed there after it is taken, and kept there 90 days)`,
    );
    expect(
      hoststore(['apply', '--app', first, '--auto-approve'], undefined, { HOSTSTORE_CRON_DIR: fx.cronDir }).status,
    ).toBe(0);
    const moved = plan(synthOut('sftp:backup@backup-2.internal:/srv/hoststore', 'out-b'));
    expect(moved.status).toBe(0);
    expect(moved.stdout).toContain(
      `replicate_to: offsite (${fx.host.path('repo-a')}) -> offsite (sftp:backup@backup-2.internal:/srv/hoststore) (new pushes go to offsite (sftp:backup@backup-2.internal:/srv/hoststore); the backups already in offsite (${fx.host.path('repo-a')}) stay there)`,
    );
  });

  test('on a fresh root (the storage made by the same plan) restic missing and an open password file are refused at plan time', () => {
    const file = path.join(secrets, 'offsite.pass');
    fs.chmodSync(file, 0o640);
    const result = plan(synthOut(fx.host.path('repo-a'), 'out-a'), { PATH: '/nonexistent-bin' });
    expect(result.status).toBe(3);
    expect(result.stdout).toContain(`restic (${RESTIC_MISSING})`);
    expect(result.stdout).toContain(
      `password_file (backup repository offsite's password file ${file} is open to group or others (mode 0640), so others could read the secret; fix: chmod 600 ${file})`,
    );
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });
});
