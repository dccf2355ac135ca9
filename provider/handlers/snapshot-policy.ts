/**
 * The snapshot-policy handler: records a SnapshotPolicy for its storage in the registry (the schedule
 * and retention that snapshot runs read), and forgets it on delete. Snapshots themselves are kept.
 */
import {
  DEFAULT_MAX_FREEZE_SECONDS,
  describeZodError,
  snapshotPolicyIdentitySchema,
  snapshotPolicySpecSchema,
  type SnapshotPolicySpec,
} from '../../src/schema.js';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RefusedError, SpecError } from '../errors.js';
import { replaceFileAtomically } from '../host/files.js';
import { checkRootOnlyProgram } from '../host/root-trust.js';
import type { Change, Handler } from './handler.js';
import { listSnapshots } from '../snapshots/snapshots.js';
import { toPrune } from '../snapshots/schedule.js';
import { legacyPolicyKey, policyKey } from '../registry/keys.js';
import { classifyReplicateTo } from '../../src/kinds.js';
import { encodeRepository, type BackupRepositoryWire } from '../../src/backup-spec.js';
import {
  BACKUPS,
  REPOSITORIES,
  pushKey,
  repositoryKey,
  repositoryRecord,
  type PushRecord,
  type RepositoryRecord,
} from '../backup/records.js';
import { repositoryPreflightProblems } from '../backup/preflight.js';
import { recordStorageEvent } from '../journal/storage-event.js';

export { policyKey } from '../registry/keys.js';

type Identity = Pick<SnapshotPolicySpec, 'root' | 'project' | 'policy' | 'storage' | 'storage_kind'>;

export interface PolicyRecord {
  readonly project: string;
  readonly stack: string;
  readonly policy: string;
  readonly storage: string;
  readonly storageKind: SnapshotPolicySpec['storage_kind'];
  readonly schedule: string;
  readonly retentionDays?: number;
  readonly retentionCount?: number;
  /** The longest its snapshots may freeze the mounted filesystem (absent in records of earlier builds: the default). */
  readonly maxFreezeSeconds?: number;
  readonly createdAt?: string;
  readonly updatedAt: string;
  /** When run-due last took this policy's snapshot; schedules fire relative to it. */
  readonly lastRunAt?: string;
  /** Where its cron entry was written (HOSTSTORE_CRON_DIR may differ when it is removed). */
  readonly cronPath?: string;
  /**
   * The BackupRepository its scheduled snapshots are pushed to: its name in the project (its record:
   * collection `repositories`, key `repositoryKey(project, replicateTo)`); absent when it does not replicate.
   */
  readonly replicateTo?: string;
  /** How long its backups stay in that repository (only with replicateTo; each absent when not set). */
  readonly remoteRetentionDays?: number;
  readonly remoteRetentionCount?: number;
}

/** The policy as read: its record, and whether its cron entry is in place with the expected content. */
export type ActualPolicy = PolicyRecord & { readonly cron: 'ok' | 'missing' | 'changed' };

export const snapshotPolicyHandler: Handler<SnapshotPolicySpec, Identity, ActualPolicy> = {
  kind: 'snapshot-policy',
  validate(input) {
    const result = snapshotPolicySpecSchema.safeParse(input);
    if (!result.success) throw new SpecError(`snapshot-policy spec rejected: ${describeZodError(result.error, input)}`);
    return result.data;
  },
  validateIdentity(input) {
    const result = snapshotPolicyIdentitySchema.safeParse(input);
    if (!result.success) throw new SpecError(`snapshot-policy spec rejected: ${describeZodError(result.error, input)}`);
    return result.data as Identity;
  },
  rootOf: (identity) => identity.root,
  describe: (identity) => `snapshot policy ${identity.policy} of ${identity.storage}`,
  read(ctx, identity) {
    const record = ctx.registry.get<PolicyRecord>('policies', policyKey(identity));
    if (!record) return undefined;
    // Without its cron entry a policy never runs: the entry is part of what is read, not just the record.
    let text: string | undefined;
    try {
      text = fs.readFileSync(cronEntryPath(identity), 'utf8');
    } catch {
      text = undefined;
    }
    const cron =
      text === undefined
        ? 'missing'
        : text === cronBody({ ...record, root: identity.root }, cronProgram())
          ? 'ok'
          : 'changed';
    return { ...record, cron };
  },
  diff(ctx, spec, actual) {
    // Said at plan time, before anything runs (also when this plan creates the storage): a repository this
    // host cannot open would fail every push.
    const refusals = preflightRefusals(spec);
    const storage = ctx.registry.storage(spec.storage_kind, spec.project, spec.storage);
    if (!storage) {
      return {
        action: 'create',
        changes: [
          {
            field: 'storage',
            kind: 'refused',
            safety: 'refused',
            reason: `${spec.storage_kind} ${spec.storage} does not exist on this host; a snapshot policy needs its storage first`,
          },
          ...replicationNote(spec),
          ...refusals,
        ],
      };
    }
    if (!actual)
      return {
        action: 'create',
        changes: [
          { field: 'policy', to: spec.schedule, kind: 'create', safety: 'safe' },
          ...replicationNote(spec),
          ...refusals,
        ],
      };
    const changes: Change[] = [];
    const compare = (field: string, from: unknown, to: unknown) => {
      if (from !== to) changes.push(settingChange(field, from, to));
    };
    compare('schedule', actual.schedule, spec.schedule);
    compare('retention_days', actual.retentionDays, spec.retention_days);
    compare('retention_count', actual.retentionCount, spec.retention_count);
    compare('max_freeze_seconds', actual.maxFreezeSeconds ?? DEFAULT_MAX_FREEZE_SECONDS, spec.max_freeze_seconds);
    changes.push(...replicationChanges(ctx, spec, actual));
    if (actual.retentionDays !== spec.retention_days || actual.retentionCount !== spec.retention_count) {
      // A retention change applies to existing snapshots at the next prune: say which ones go.
      const key = policyKey(spec);
      const scheduled = listSnapshots(ctx, spec.storage).filter((s) => s.policy === key && s.trigger === 'schedule');
      const going = toPrune(
        scheduled,
        { retentionDays: spec.retention_days, retentionCount: spec.retention_count },
        ctx.now(),
      );
      if (going.length > 0) {
        changes.push({
          field: 'snapshots',
          from: String(scheduled.length),
          to: String(scheduled.length - going.length),
          kind: 'note',
          safety: 'safe',
          reason: `the next prune deletes ${going.length} existing snapshot(s): ${going.map((g) => g.id).join(', ')}`,
        });
      }
    }
    // Another stack of the project declared this policy first: it is that stack's; the same policy is borrowed.
    if (actual.stack !== spec.stack || actual.storageKind !== spec.storage_kind) {
      const refusal = policyOwnerRefusal(
        spec,
        actual,
        changes.filter((c) => c.field !== 'snapshots').map((c) => c.field),
      );
      if (refusal) return { action: 'update', changes: [refusal, ...refusals] };
      changes.length = 0;
    }
    changes.push(...refusals);
    for (const former of formerCronEntries(spec))
      changes.push({
        field: 'cron_file',
        from: path.basename(former),
        to: path.basename(cronEntryPath(spec)),
        kind: 'repair',
        safety: 'safe',
        reason: "the cron file gets this build's name, which holds a digest of the root so that roots never share it",
      });
    if (actual.cron !== 'ok') {
      changes.push({
        field: 'cron',
        to: cronEntryPath(spec),
        kind: actual.cron === 'missing' ? 'repair' : 'drift',
        safety: 'safe',
        reason:
          actual.cron === 'missing'
            ? 'cron entry missing: rewrite it'
            : "cron entry changed behind hoststore's back: rewrite it",
      });
    }
    return { action: changes.length ? 'update' : 'none', changes };
  },
  async create(ctx, spec) {
    write(ctx, spec);
  },
  async update(ctx, spec) {
    write(ctx, spec);
  },
  async delete(ctx, identity) {
    const record = ctx.registry.get<PolicyRecord>('policies', policyKey(identity));
    // The repository's record is kept: it says where backups are, and they outlive the policy.
    if (record && ctx.stack !== undefined && record.stack !== ctx.stack) {
      ctx.log(
        `snapshot policy ${identity.policy} of ${identity.storage}: it is stack ${record.stack}'s (project ${record.project}); stack ${ctx.stack} only borrowed it, so it stays`,
      );
      return;
    }
    removeCronEntry(identity, record?.cronPath);
    if (record) markPushesStopped(ctx, record);
    ctx.registry.remove('policies', policyKey(identity));
    removeFormerCronEntries(identity);
    if (record)
      recordStorageEvent(
        ctx,
        { kind: record.storageKind, project: record.project, storage: record.storage, stack: record.stack },
        'changed',
        `snapshot policy ${record.policy} removed (its snapshots are kept)`,
        { policy: record.policy, removed: true },
      );
    ctx.log(
      `snapshot policy ${identity.policy} of ${identity.storage}: removed (existing snapshots are kept${record?.replicateTo ? `, and its backups stay in backup repository ${record.replicateTo}` : ''})`,
    );
  },
};

/** Where cron entries go: HOSTSTORE_CRON_DIR, default /etc/cron.d. */
export function cronDir(): string {
  return process.env.HOSTSTORE_CRON_DIR || '/etc/cron.d';
}

/**
 * `hoststore-<policy key>_<first 12 hex of sha256(root)>`: two roots on one host (staging and prod) may
 * declare the same project, policy and storage, and each needs its own entry. cron.d ignores file names
 * with dots; keys and digests are letters, digits, hyphens and underscores.
 */
export function cronEntryPath(identity: Pick<Identity, 'root' | 'project' | 'policy' | 'storage'>): string {
  const digest = createHash('sha256').update(identity.root).digest('hex').slice(0, 12);
  return path.join(cronDir(), `hoststore-${policyKey(identity)}_${digest}`);
}

/** This package's CLI (dist/provider/cli.js), also when this module runs from the TypeScript sources. */
function installedCli(): string {
  const sibling = fileURLToPath(new URL('../cli.js', import.meta.url));
  return fs.existsSync(sibling) ? sibling : path.resolve(path.dirname(sibling), '../dist/provider/cli.js');
}

interface CronProgram {
  readonly node: string;
  readonly cli: string;
}

/** The real path of a program, or the path itself when it cannot be resolved (read compares; install checks). */
function realOrSame(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

/** One word for /bin/sh, single-quoted (install refuses paths holding a quote, newline or %, see cronPathProblem). */
function shQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Why a path cannot go in a cron line: cron turns % into a newline, and quotes and newlines end the word. */
function cronPathProblem(word: string): string | undefined {
  if (/['\n%]/.test(word)) return 'holds a single quote, a newline or %, which a cron line cannot carry safely';
  return undefined;
}

/**
 * The programs the entry runs as root, real paths checked to be root's alone: whoever can change them, or a
 * directory above them, would run code as root within a minute.
 */
function trustedCronProgram(root: string): CronProgram {
  const node = checkRootOnlyProgram(
    process.execPath,
    'node',
    (p) => `chown root:root ${p} && chmod go-w ${p}, or run hoststore with a node installed by root`,
  );
  const global =
    "install hoststore globally as root (npm install -g cdktf-hoststore) and set the StorageProject's cli: 'hoststore'";
  const cli = checkRootOnlyProgram(installedCli(), 'the hoststore CLI', (p) => {
    // Inside node_modules the tree is npm's to hand to root; above it lies the user's own directory.
    const modules = p.lastIndexOf('/node_modules');
    if (modules < 0) return global;
    const dir = p.slice(0, modules + '/node_modules'.length);
    return `chown -R root:root ${dir} && chmod -R go-w ${dir}, or ${global}`;
  });
  for (const [what, word] of [
    ['node', node],
    ['the hoststore CLI', cli],
    ['the root', root],
  ] as const) {
    const problem = cronPathProblem(word);
    if (problem)
      throw new RefusedError(
        `refusing to write the cron entry for ${what} ${JSON.stringify(word)}: the path ${problem}; fix: install it (or use a root) under a path without them`,
      );
  }
  return { node, cli };
}

/** The programs an entry runs, as read (real paths, unchecked: read only compares). */
function cronProgram(): CronProgram {
  return { node: realOrSame(process.execPath), cli: realOrSame(installedCli()) };
}

/** One entry per policy: run-due every minute; the schedule itself (UTC) is evaluated by run-due. */
function cronBody(
  p: Pick<PolicyRecord, 'policy' | 'storageKind' | 'storage' | 'project' | 'schedule'> & { readonly root: string },
  program: CronProgram,
): string {
  return [
    `# hoststore: snapshot policy '${p.policy}' of ${p.storageKind} ${p.storage} (project ${p.project}), schedule '${p.schedule}' UTC.`,
    '# run-due is checked every minute and takes the snapshot when the schedule has fired. Managed by hoststore; removed with the policy.',
    `* * * * * root ${shQuote(program.node)} ${shQuote(program.cli)} snapshot run-due --root ${shQuote(p.root)} >/dev/null`,
    '',
  ].join('\n');
}

/**
 * The root a hoststore cron line runs `run-due` for, read back exactly (quoted by this build, bare by
 * earlier ones), so that a root is never mistaken for another whose path starts like it.
 */
function cronLineRoot(body: string): string | undefined {
  const match = /^\* \* \* \* \* root .* snapshot run-due --root (.*) >\/dev\/null$/m.exec(body);
  if (!match) return undefined;
  const word = match[1];
  if (!word.startsWith("'")) return word;
  return /^'(?:[^']|'\\'')*'$/.test(word) ? word.slice(1, -1).replace(/'\\''/g, "'") : undefined;
}

/** Whether `file` (named like a hoststore entry) is a regular file whose run-due line runs `root`. */
function isEntryOfRoot(file: string, root: string): boolean {
  try {
    if (!fs.lstatSync(file).isFile()) return false;
    return cronLineRoot(fs.readFileSync(file, 'utf8')) === root;
  } catch {
    return false;
  }
}

/**
 * Cron files earlier builds wrote for this policy and root: `hoststore-<key>` (before the root digest, so
 * possibly another root's: only an entry whose line runs this root is this policy's) and
 * `hoststore-<project>--<policy>--<storage>` (before `_` keys; also possibly another policy's old name,
 * but its entry only ever ran `run-due` for the whole root, which the new file does).
 */
function formerCronEntries(identity: Pick<Identity, 'root' | 'project' | 'policy' | 'storage'>): string[] {
  return [policyKey(identity), legacyPolicyKey(identity)]
    .map((key) => path.join(cronDir(), `hoststore-${key}`))
    .filter((file) => isEntryOfRoot(file, identity.root));
}

function removeFormerCronEntries(identity: Pick<Identity, 'root' | 'project' | 'policy' | 'storage'>): void {
  for (const file of formerCronEntries(identity)) fs.rmSync(file, { force: true });
}

/** Writes the entry (exclusive temporary, fsync, rename) and returns where. */
function installCronEntry(spec: SnapshotPolicySpec): string {
  const body = cronBody({ ...spec, storageKind: spec.storage_kind }, trustedCronProgram(spec.root));
  fs.mkdirSync(cronDir(), { recursive: true });
  const file = cronEntryPath(spec);
  // The cron directory is not hoststore's: nothing planted in it is followed or overwritten.
  replaceFileAtomically(file, body, 0o644);
  return file;
}

/**
 * Removes the entry where it is now expected and where it was recorded as written. A recorded path is
 * removed only when it has this policy's entry name (of this build or an earlier one) and is a regular
 * file holding a hoststore entry that runs this root.
 */
function removeCronEntry(identity: Pick<Identity, 'root' | 'project' | 'policy' | 'storage'>, recorded?: string): void {
  fs.rmSync(cronEntryPath(identity), { force: true });
  removeRecordedCronEntry(identity, recorded);
}

function removeRecordedCronEntry(
  identity: Pick<Identity, 'root' | 'project' | 'policy' | 'storage'>,
  recorded: string | undefined,
): void {
  const current = cronEntryPath(identity);
  const names = [current, ...[policyKey(identity), legacyPolicyKey(identity)].map((k) => `hoststore-${k}`)].map((f) =>
    path.basename(f),
  );
  if (!recorded || recorded === current || !names.includes(path.basename(recorded))) return;
  if (isEntryOfRoot(recorded, identity.root)) fs.rmSync(recorded, { force: true });
}

function write(ctx: Parameters<typeof snapshotPolicyHandler.create>[0], spec: SnapshotPolicySpec): void {
  const previous = ctx.registry.get<PolicyRecord>('policies', policyKey(spec));
  const now = ctx.now().toISOString();
  // The cron entry first: a record without its entry would look converged while nothing ever runs.
  const cronPath = installCronEntry(spec);
  removeRecordedCronEntry(spec, previous?.cronPath);
  // The repository before the policy naming it, so `--repository NAME` and run-due always find it.
  if (spec.replicate_to) upsertRepository(ctx, spec.project, spec.replicate_to);
  ctx.registry.put<PolicyRecord>('policies', policyKey(spec), {
    project: spec.project,
    stack: previous?.stack ?? spec.stack,
    policy: spec.policy,
    storage: spec.storage,
    storageKind: spec.storage_kind,
    schedule: spec.schedule,
    retentionDays: spec.retention_days,
    retentionCount: spec.retention_count,
    maxFreezeSeconds: spec.max_freeze_seconds,
    createdAt: previous?.createdAt ?? now,
    updatedAt: now,
    lastRunAt: previous?.lastRunAt,
    cronPath,
    ...(spec.replicate_to === undefined
      ? {}
      : {
          replicateTo: spec.replicate_to.name,
          remoteRetentionDays: spec.remote_retention_days,
          remoteRetentionCount: spec.remote_retention_count,
        }),
  });
  if (previous?.replicateTo && previous.replicateTo !== spec.replicate_to?.name) markPushesStopped(ctx, previous);
  // Moved, not copied: the entry under a former name is removed only now that the new one is in place.
  removeFormerCronEntries(spec);
  recordStorageEvent(
    ctx,
    { kind: spec.storage_kind, project: spec.project, storage: spec.storage, stack: previous?.stack ?? spec.stack },
    'changed',
    `snapshot policy ${spec.policy} ${previous ? 'changed' : 'set'}: '${spec.schedule}' UTC, keep ${[spec.retention_days && `${spec.retention_days} days`, spec.retention_count && `${spec.retention_count} snapshots`].filter(Boolean).join(' and ')}${spec.replicate_to ? `, pushed to backup repository ${spec.replicate_to.name}` : ''}`,
    {
      policy: spec.policy,
      schedule: spec.schedule,
      retentionDays: spec.retention_days,
      retentionCount: spec.retention_count,
      replicateTo: spec.replicate_to?.name,
    },
  );
  ctx.log(
    `snapshot policy ${spec.policy} of ${spec.storage}: '${spec.schedule}' UTC, keep ${[spec.retention_days && `${spec.retention_days} days`, spec.retention_count && `${spec.retention_count} snapshots`].filter(Boolean).join(' and ')}, freeze at most ${spec.max_freeze_seconds} s${replicationSummary(spec)}`,
  );
}

/** The policy no longer pushes its storage to its repository: its push record says since when (`backup status`: stopped). */
function markPushesStopped(ctx: Parameters<typeof snapshotPolicyHandler.create>[0], policy: PolicyRecord): void {
  if (!policy.replicateTo) return;
  const key = pushKey(policy.storageKind, policy.project, policy.storage, policy.replicateTo);
  const push = ctx.registry.get<PushRecord>(BACKUPS, key);
  if (push) ctx.registry.put<PushRecord>(BACKUPS, key, { ...push, stoppedAt: ctx.now().toISOString() });
}

/** `, pushed to offsite (sftp:...), kept there 30 days`; '' for a policy that does not replicate. */
function replicationSummary(spec: SnapshotPolicySpec): string {
  if (!spec.replicate_to) return '';
  const kept = [
    spec.remote_retention_days && `${spec.remote_retention_days} days`,
    spec.remote_retention_count && `${spec.remote_retention_count} backups`,
  ].filter(Boolean);
  return `, pushed to backup repository ${spec.replicate_to.name} (${spec.replicate_to.url})${kept.length ? `, kept there ${kept.join(' and ')}` : ''}`;
}

/** The repository a record describes, as a spec would carry it (to compare the two). */
function wireOf(record: RepositoryRecord): BackupRepositoryWire {
  return {
    name: record.name,
    url: record.url,
    password_file: record.passwordFile,
    ...(record.environmentFile === undefined ? {} : { environment_file: record.environmentFile }),
    ...(record.options === undefined ? {} : { options: record.options }),
  };
}

/** Records (or updates) the repository so `--repository NAME` finds it; unchanged records keep their time. */
function upsertRepository(
  ctx: Parameters<typeof snapshotPolicyHandler.create>[0],
  project: string,
  wire: BackupRepositoryWire,
): void {
  const key = repositoryKey(project, wire.name);
  const existing = ctx.registry.get<RepositoryRecord>(REPOSITORIES, key);
  if (existing && encodeRepository(wireOf(existing)) === encodeRepository(wire)) return;
  ctx.registry.put<RepositoryRecord>(REPOSITORIES, key, repositoryRecord(project, wire, ctx.now()));
}

/** A new replicated policy says where its snapshots go and how long they stay there. */
function replicationNote(spec: SnapshotPolicySpec): Change[] {
  if (!spec.replicate_to) return [];
  const kept = [
    spec.remote_retention_days && `${spec.remote_retention_days} days`,
    spec.remote_retention_count && `${spec.remote_retention_count} backups`,
  ].filter(Boolean);
  return [
    {
      field: 'replicate_to',
      to: `${spec.replicate_to.name} (${spec.replicate_to.url})`,
      kind: 'note',
      safety: 'safe',
      reason: `each new scheduled snapshot is pushed there after it is taken${kept.length ? `, and kept there ${kept.join(' and ')}` : ''}`,
    },
  ];
}

/** What a replicated policy cannot do on this host yet (restic missing, secret files not root's alone), as refusals. */
function preflightRefusals(spec: SnapshotPolicySpec): Change[] {
  if (!spec.replicate_to) return [];
  return repositoryPreflightProblems(spec.replicate_to).map(({ field, problem }) => ({
    field,
    kind: 'refused',
    safety: 'refused',
    reason: problem,
  }));
}

/** Where its snapshots are pushed and how long they stay there, against the record and the repository's record. */
function replicationChanges(ctx: HandlerContextOf, spec: SnapshotPolicySpec, actual: PolicyRecord): Change[] {
  const changes: Change[] = [];
  const recorded = actual.replicateTo
    ? ctx.registry.get<RepositoryRecord>(REPOSITORIES, repositoryKey(actual.project, actual.replicateTo))
    : undefined;
  if (actual.replicateTo && !recorded && spec.replicate_to?.name === actual.replicateTo) {
    changes.push({
      field: 'repository',
      to: actual.replicateTo,
      kind: 'repair',
      safety: 'safe',
      reason: `the record of backup repository ${actual.replicateTo} is missing on this host: rewrite it`,
    });
  } else {
    // A record gone and the policy moving elsewhere: the old repository is shown by its name alone.
    const from = recorded ? encodeRepository(wireOf(recorded)) : (actual.replicateTo ?? '');
    const to = spec.replicate_to ? encodeRepository(spec.replicate_to) : '';
    const change = classifyReplicateTo(from, to);
    if (change) changes.push(change);
  }
  for (const [field, from, to] of [
    ['remote_retention_days', actual.remoteRetentionDays, spec.remote_retention_days],
    ['remote_retention_count', actual.remoteRetentionCount, spec.remote_retention_count],
  ] as const)
    if (from !== to) changes.push(settingChange(field, from, to));
  return changes;
}

/** A setting recorded in place, its values as the plan shows them ('' for unset). */
function settingChange(field: string, from: unknown, to: unknown): Change {
  return {
    field,
    from: from === undefined ? '' : String(from),
    to: to === undefined ? '' : String(to),
    kind: 'setting',
    safety: 'safe',
  };
}

type HandlerContextOf = Parameters<typeof snapshotPolicyHandler.diff>[0];

/**
 * Why a stack may not converge a policy whose record another stack of the project wrote, or that names
 * storage of another kind under the same key (a volume and a directory of one name); undefined when it
 * declares the same policy (it then borrows it, and the record keeps its owner).
 */
function policyOwnerRefusal(
  spec: SnapshotPolicySpec,
  actual: PolicyRecord,
  differing: readonly string[],
): Change | undefined {
  const what = `snapshot policy ${spec.policy} of ${spec.storage_kind} ${spec.storage}`;
  if (actual.storageKind !== spec.storage_kind) {
    return {
      field: 'storage_kind',
      from: actual.storageKind,
      to: spec.storage_kind,
      kind: 'refused',
      safety: 'refused',
      reason: `${what}: project ${spec.project} already has policy ${spec.policy} on ${actual.storageKind} ${actual.storage} (stack ${actual.stack}), and one project's policy names one storage; give this policy another name`,
    };
  }
  if (differing.length === 0) return undefined;
  return {
    field: 'stack',
    from: actual.stack,
    to: spec.stack,
    kind: 'refused',
    safety: 'refused',
    reason: `${what} belongs to stack ${actual.stack} of project ${actual.project}, which set its ${differing.join(', ')}; stack ${spec.stack} declares it with other values and cannot change them. Declare it as stack ${actual.stack} does to borrow it, change it in stack ${actual.stack}, or give this policy another name`,
  };
}
