/**
 * A SnapshotPolicy snapshots a Volume or Disk on a 5-field cron schedule (UTC) and prunes by age,
 * by count, or both (a snapshot goes only when every set rule lets it).
 */
import { Construct } from 'constructs';
import {
  DEFAULT_MAX_FREEZE_SECONDS,
  DEFAULT_REMOTE_RETENTION_DAYS,
  DEFAULT_RETENTION_DAYS,
  cronRule,
  maxFreezeSecondsRule,
  nameRule,
  positiveWholeNumberRule,
  snapshotPolicySpecSchema,
  type SnapshotPolicySpecWire,
} from './schema.js';
import { renderThing, type ManifestThing } from './carrier.js';
import { frameworkOf } from './framework.js';
import { StorageBase, type StorageInstance } from './storage-base.js';
import { StorageProject } from './storage-project.js';
import { Problems, assertValid, specProblem } from './validation.js';
import { unknownPropProblems, type PropNames } from './known-props.js';
import { identityOf } from './kinds.js';
import { BackupRepository } from './backup-repository.js';
import { encodeRepository } from './backup-spec.js';

export interface SnapshotPolicyProps {
  /** The Volume or Disk to snapshot (same StorageProject). */
  readonly storage: StorageBase;
  /** 5-field cron expression (minute hour day-of-month month day-of-week), evaluated in UTC. */
  readonly schedule: string;
  /** Keep snapshots at least this many days. @default 7 (when retentionCount is not set either) */
  readonly retentionDays?: number;
  /** Keep at least this many most recent snapshots. @default none */
  readonly retentionCount?: number;
  /**
   * The longest a snapshot may freeze the mounted filesystem, in seconds (0.1 to 3600). A capture expected
   * to take longer is refused (and reported) rather than taken; one still copying at the limit is stopped.
   * @default 5
   */
  readonly maxFreezeSeconds?: number;
  /**
   * Push each new scheduled snapshot to this repository (same StorageProject) after it is taken: only the
   * newest not yet pushed, never the live image; a failed push is retried at the next run and never blocks
   * or deletes a local snapshot. @default none: snapshots stay on this host
   */
  readonly replicateTo?: BackupRepository;
  /**
   * Keep this policy's backups in the repository at least this many days (only with replicateTo).
   * @default 30, or retentionDays when that is longer (when remoteRetentionCount is not set either)
   */
  readonly remoteRetentionDays?: number;
  /** Keep at least this many most recent backups in the repository (only with replicateTo). @default none */
  readonly remoteRetentionCount?: number;
}

export interface DailySnapshotProps {
  /** The Volume or Disk to snapshot (same StorageProject). */
  readonly storage: StorageBase;
  /** Hour of the day, UTC, 0 to 23. @default 4 */
  readonly hourUtc?: number;
  /** Keep snapshots at least this many days. @default 7 */
  readonly retentionDays?: number;
  /** See SnapshotPolicyProps.maxFreezeSeconds. @default 5 */
  readonly maxFreezeSeconds?: number;
  /** See SnapshotPolicyProps.replicateTo. @default none */
  readonly replicateTo?: BackupRepository;
  /** See SnapshotPolicyProps.remoteRetentionDays. @default 30, or retentionDays when longer */
  readonly remoteRetentionDays?: number;
  /** See SnapshotPolicyProps.remoteRetentionCount. @default none */
  readonly remoteRetentionCount?: number;
}

export interface HourlySnapshotProps {
  /** The Volume or Disk to snapshot (same StorageProject). */
  readonly storage: StorageBase;
  /** Keep at least this many most recent snapshots. @default 24 */
  readonly retentionCount?: number;
  /** See SnapshotPolicyProps.maxFreezeSeconds. @default 5 */
  readonly maxFreezeSeconds?: number;
  /** See SnapshotPolicyProps.replicateTo. @default none */
  readonly replicateTo?: BackupRepository;
  /**
   * See SnapshotPolicyProps.remoteRetentionCount. @default none: kept 30 days (for another number of days,
   * use `new SnapshotPolicy` with schedule '0 * * * *' and remoteRetentionDays)
   */
  readonly remoteRetentionCount?: number;
}

/** Every prop SnapshotPolicy and its presets accept; any other is refused at synth (the compiler keeps these in step with the interfaces). */
const SNAPSHOT_POLICY_PROPS: PropNames<SnapshotPolicyProps> = {
  storage: true,
  schedule: true,
  retentionDays: true,
  retentionCount: true,
  maxFreezeSeconds: true,
  replicateTo: true,
  remoteRetentionDays: true,
  remoteRetentionCount: true,
};
const DAILY_SNAPSHOT_PROPS: PropNames<DailySnapshotProps> = {
  storage: true,
  hourUtc: true,
  retentionDays: true,
  maxFreezeSeconds: true,
  replicateTo: true,
  remoteRetentionDays: true,
  remoteRetentionCount: true,
};
const HOURLY_SNAPSHOT_PROPS: PropNames<HourlySnapshotProps> = {
  storage: true,
  retentionCount: true,
  maxFreezeSeconds: true,
  replicateTo: true,
  remoteRetentionCount: true,
};

/**
 * `schedule`, `retentionDays`, `retentionCount`, `maxFreezeSeconds` and the remote retention may be changed
 * until synth (by a user's Aspect, for example): the carriers read them when the stack is synthesized.
 * `storage` and `replicateTo` are read-only.
 */
export class SnapshotPolicy extends Construct {
  /** A snapshot every day at `hourUtc`:00 UTC, kept `retentionDays` days. */
  static daily(scope: Construct, id: string, props: DailySnapshotProps): SnapshotPolicy {
    const policy = new SnapshotPolicy(scope, id, {
      storage: props.storage,
      schedule: `0 ${props.hourUtc ?? 4} * * *`,
      retentionDays: props.retentionDays ?? DEFAULT_RETENTION_DAYS,
      maxFreezeSeconds: props.maxFreezeSeconds,
      replicateTo: props.replicateTo,
      remoteRetentionDays: props.remoteRetentionDays,
      remoteRetentionCount: props.remoteRetentionCount,
    });
    for (const problem of unknownPropProblems(props, DAILY_SNAPSHOT_PROPS, 'SnapshotPolicy.daily'))
      policy.problems.add(problem);
    return policy;
  }

  /** A snapshot every hour on the hour, keeping the last `retentionCount`. */
  static hourly(scope: Construct, id: string, props: HourlySnapshotProps): SnapshotPolicy {
    props = props ?? ({} as HourlySnapshotProps);
    const policy = new SnapshotPolicy(scope, id, {
      storage: props.storage,
      schedule: '0 * * * *',
      retentionCount: props.retentionCount ?? 24,
      maxFreezeSeconds: props.maxFreezeSeconds,
      replicateTo: props.replicateTo,
      remoteRetentionCount: props.remoteRetentionCount,
    });
    for (const problem of unknownPropProblems(props, HOURLY_SNAPSHOT_PROPS, 'SnapshotPolicy.hourly'))
      policy.problems.add(problem);
    return policy;
  }

  readonly storage: StorageBase;
  /** Read at synth, so an Aspect may change it (as the retention and freeze bound below). */
  schedule: string;
  retentionDays?: number;
  retentionCount?: number;
  maxFreezeSeconds: number;
  readonly replicateTo?: BackupRepository;
  remoteRetentionDays?: number;
  remoteRetentionCount?: number;
  private readonly project: StorageProject;
  private readonly problems: Problems;
  private readonly things: ManifestThing[] = [];

  constructor(scope: Construct, id: string, props: SnapshotPolicyProps) {
    super(scope, id);
    props = props ?? ({} as SnapshotPolicyProps);
    this.project = StorageProject.of(this);
    const framework = frameworkOf(this);
    this.storage = props.storage;
    this.schedule = props.schedule;
    this.retentionCount = props.retentionCount;
    this.retentionDays =
      props.retentionDays ?? (props.retentionCount === undefined ? DEFAULT_RETENTION_DAYS : undefined);
    this.maxFreezeSeconds = props.maxFreezeSeconds ?? DEFAULT_MAX_FREEZE_SECONDS;
    this.replicateTo = props.replicateTo;
    this.remoteRetentionCount = props.remoteRetentionCount;
    // Off-host copies outlive local ones: a month by default, and never less than the local days.
    this.remoteRetentionDays =
      props.remoteRetentionDays ??
      (props.replicateTo !== undefined && props.remoteRetentionCount === undefined
        ? Math.max(DEFAULT_REMOTE_RETENTION_DAYS, typeof this.retentionDays === 'number' ? this.retentionDays : 0)
        : undefined);
    const p = (this.problems = new Problems((v) => framework.Token.isUnresolved(v)));
    for (const problem of unknownPropProblems(props, SNAPSHOT_POLICY_PROPS, 'SnapshotPolicy')) p.add(problem);
    if (!(props.storage instanceof StorageBase))
      p.add(`\`storage\` must be a Volume or Disk (got ${typeof props.storage})`);
    else if (props.storage.project !== this.project) {
      p.add(
        `\`storage\` must belong to the same StorageProject: ${props.storage.node.path} is in project '${props.storage.project.name}', this policy is in '${this.project.name}'`,
      );
    }
    p.check('id', id, nameRule);
    p.watch('schedule', () => this.schedule, cronRule);
    p.watch(
      'retentionDays',
      () => this.retentionDays,
      (v) => (v === undefined ? undefined : positiveWholeNumberRule(v)),
    );
    p.watch(
      'retentionCount',
      () => this.retentionCount,
      (v) => (v === undefined ? undefined : positiveWholeNumberRule(v)),
    );
    p.watch('maxFreezeSeconds', () => this.maxFreezeSeconds, maxFreezeSecondsRule);
    this.checkReplication(props);
    this.project.policies.push(this);
    this.node.addValidation({ validate: () => this.policyProblems() });
    // One carrier per storage instance, including those a Mount made later adds.
    if (props.storage instanceof StorageBase) props.storage.onInstance((instance) => this.renderInstance(instance));
  }

  private checkReplication(props: SnapshotPolicyProps): void {
    const p = this.problems;
    const repository = props.replicateTo;
    if (repository !== undefined) {
      if (!(repository instanceof BackupRepository))
        p.add(`\`replicateTo\` must be a BackupRepository (got ${typeof repository})`);
      else if (repository.project !== this.project)
        p.add(
          `\`replicateTo\` must belong to the same StorageProject: ${repository.node.path} is in project '${repository.project.name}', this policy is in '${this.project.name}'; declare a BackupRepository in '${this.project.name}' (it may name the same repository)`,
        );
    }
    for (const [prop, read] of [
      ['remoteRetentionDays', () => this.remoteRetentionDays],
      ['remoteRetentionCount', () => this.remoteRetentionCount],
    ] as const)
      p.watch(prop, read, (v) => {
        if (v === undefined) return undefined;
        if (repository === undefined)
          return 'applies only with `replicateTo` (it says how long backups stay in the repository): set replicateTo or leave it out';
        return positiveWholeNumberRule(v);
      });
  }

  /** The repository, when `replicateTo` is one (its own problems are its own lines). */
  private repository(): BackupRepository | undefined {
    return this.replicateTo instanceof BackupRepository ? this.replicateTo : undefined;
  }

  private policyProblems(): string[] {
    const problems = this.problems.list;
    if (
      problems.length > 0 ||
      this.project.hostInvalid ||
      !(this.storage instanceof StorageBase) ||
      this.storage.node.validate().length > 0 ||
      (this.repository()?.node.validate().length ?? 0) > 0
    )
      return problems;
    const refused = this.storage
      .instances()
      .map((i) => specProblem(snapshotPolicySpecSchema, this.wireSpec(i.name)))
      .find((m) => m !== undefined);
    return refused ? [refused] : [];
  }

  private wireSpec(storage: string): SnapshotPolicySpecWire {
    return {
      ...this.project.hostField,
      root: this.project.root,
      project: this.project.name,
      policy: this.node.id,
      storage,
      storage_kind: this.storage.kind,
      stack: this.project.stackName,
      schedule: this.schedule,
      retention_days: this.retentionDays === undefined ? '' : String(this.retentionDays),
      retention_count: this.retentionCount === undefined ? '' : String(this.retentionCount),
      max_freeze_seconds: String(this.maxFreezeSeconds),
      // Only for a replicated policy: every other policy renders exactly as before.
      ...this.replicationWire(),
    };
  }

  private replicationWire(): Pick<
    SnapshotPolicySpecWire,
    'replicate_to' | 'remote_retention_days' | 'remote_retention_count'
  > {
    const repository = this.repository();
    if (!repository) return {};
    return {
      replicate_to: encodeRepository(repository.wire()),
      ...(this.remoteRetentionDays === undefined ? {} : { remote_retention_days: String(this.remoteRetentionDays) }),
      ...(this.remoteRetentionCount === undefined ? {} : { remote_retention_count: String(this.remoteRetentionCount) }),
    };
  }

  private renderInstance(instance: StorageInstance): void {
    const spec = () => {
      assertValid(this, this.storage, ...(this.repository() ? [this.repository() as BackupRepository] : []));
      return this.wireSpec(instance.name);
    };
    const storageCarrier = this.storage.carrierOf(instance.name);
    const thing = renderThing(this, instance.replica === undefined ? '' : `-${instance.replica}`, {
      carrier: this.project.renderedCarrier,
      kind: 'snapshot-policy',
      cli: this.project.cli,
      host: this.project.host,
      identity: () => identityOf('snapshot-policy', spec()),
      spec: () => spec() as unknown as Record<string, string>,
      dependsOn: storageCarrier ? [storageCarrier] : [],
    });
    this.things.push({ address: this.node.path, kind: 'snapshot-policy', thing });
  }

  /** @internal what the project's manifest converges for it, storage instance by instance */
  manifestThings(): ManifestThing[] {
    return [...this.things];
  }

  /** @internal manifest entries (`policy:storage`) */
  manifestEntries(): string[] {
    return this.storage instanceof StorageBase ? this.storage.instances().map((i) => `${this.node.id}:${i.name}`) : [];
  }
}
