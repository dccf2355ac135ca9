/**
 * What Volume and Disk share: a name, a removal policy, the storage instances they stand for on the host
 * (a non-shared volume is one per replica), and the carrier of each instance.
 */
import { Construct } from 'constructs';
import {
  MAX_REPLICAS,
  REMOVAL_POLICIES,
  imagePath,
  nameRule,
  oneOfRule,
  replicaVolumeName,
  snapshotIdRule,
  storageSpecSchema,
  wholeNumberRule,
  type Filesystem,
  type RemovalPolicy,
  type StorageKind,
  type StorageSpecWire,
} from './schema.js';
import { renderThing, type CarrierResource, type ManifestThing, type ThingCarrier } from './carrier.js';
import { frameworkOf } from './framework.js';
import { StorageProject } from './storage-project.js';
import { Problems, assertValid, remembered, specProblem } from './validation.js';
import { interruptedGrowCheck } from './interrupted-grow.js';
import { renderOutput, outputName, type OutputRef } from './outputs.js';
import type { Mount } from './mount.js';
import { identityOf } from './kinds.js';
import { encodeFromBackup, LATEST_BACKUP } from './backup-spec.js';
import { BackupRepository, fromBackupProblems, type FromBackup } from './backup-repository.js';

export interface StorageInstance {
  /** Name on the host (`<name>-<replica>` for a non-shared volume's replica). */
  readonly name: string;
  /** The replica it belongs to, for per-replica volumes. */
  readonly replica?: number;
}

export interface StorageBaseOptions {
  readonly kind: StorageKind;
  readonly name: string;
  readonly sizeGb?: number;
  readonly filesystem?: Filesystem;
  readonly shared: boolean;
  readonly removalPolicy: RemovalPolicy;
  readonly fromSnapshot?: string;
  readonly fromBackup?: FromBackup;
}

/**
 * `sizeGb`, `removalPolicy` and `fromSnapshot` may be changed until synth (by a user's Aspect, for example):
 * the carriers read them when the stack is synthesized. `name`, `kind`, `filesystem` and `shared` are
 * read-only: they decide the storage's identity and how many carriers it has, made when it is constructed.
 */
export abstract class StorageBase extends Construct {
  readonly project: StorageProject;
  readonly kind: StorageKind;
  readonly name: string;
  /** Size in GB; read at synth, so an Aspect may change it. */
  sizeGb?: number;
  readonly filesystem?: Filesystem;
  readonly shared: boolean;
  /** What deleting the construct does to the data; read at synth, so an Aspect may change it. */
  removalPolicy: RemovalPolicy;
  /** Snapshot id the storage is created from (only when it does not exist yet); read at synth. */
  fromSnapshot?: string;
  /** The backup the storage is created from when it does not exist on the host yet; read-only. */
  readonly fromBackup?: FromBackup;
  /**
   * Terraform output `<project>_<id>_storage`, for a container runtime: `{ host_paths, image_paths, size_gb }`
   * (`hostPaths`, `imagePaths`, `sizeGb`; `[]` and null where they do not apply). One output, not three: a
   * stack with many volumes pays for every output at synth.
   */
  readonly storageOutput: OutputRef;
  /** @internal */ readonly mounts: Mount[] = [];
  protected readonly problems: Problems;
  private readonly things = new Map<string, { thing: ThingCarrier; manifest: ManifestThing }>();
  private readonly instanceListeners: Array<(instance: StorageInstance) => void> = [];

  protected constructor(scope: Construct, id: string, options: StorageBaseOptions) {
    super(scope, id);
    this.project = StorageProject.of(this);
    const framework = frameworkOf(this);
    this.kind = options.kind;
    this.name = options.name;
    this.sizeGb = options.sizeGb;
    this.filesystem = options.filesystem;
    this.shared = options.shared;
    this.removalPolicy = options.removalPolicy;
    this.fromSnapshot = options.fromSnapshot;
    this.fromBackup = options.fromBackup;
    this.problems = new Problems((v) => framework.Token.isUnresolved(v));
    this.problems.check('name', this.name, (v) =>
      v === undefined && this.kind === 'disk'
        ? "is required for a Disk (disks are host-wide and found by name, so there is no default): set one, such as name: 'myapp-db'"
        : nameRule(v),
    );
    this.problems.watch(
      'fromSnapshot',
      () => this.fromSnapshot,
      (v) => (v === undefined ? undefined : snapshotIdRule(v)),
    );
    for (const problem of fromBackupProblems(options.fromBackup, this.project)) this.problems.add(problem);
    this.problems.watch(
      'removalPolicy',
      () => this.removalPolicy,
      (v) => oneOfRule(v, REMOVAL_POLICIES),
    );
    this.project.storages.push(this);
    // Everything else its problems depend on is read-only, fixed by now or by the first Mount.
    const problems = remembered(
      () => [this.sizeGb, this.removalPolicy, this.fromSnapshot, this.mounts[0]],
      () => this.storageProblems(),
    );
    this.node.addValidation({ validate: problems });
    this.renderInstances();
    this.storageOutput = renderOutput(
      this,
      'storage',
      outputName(this.project, this, 'storage'),
      () => ({ host_paths: this.hostPaths, image_paths: this.imagePaths, size_gb: this.sizeGb ?? null }),
      `${this.kind} '${this.name}': host paths its Mounts bind it at, its disk images, its size in GB`,
    );
  }

  protected checkSize(required: boolean): void {
    // The limit is named, so the line also says which knob raises it.
    const limit = this.project.maxVolumeSizeGb;
    this.problems.watch(
      'sizeGb',
      () => this.sizeGb,
      (v) => {
        if (v === undefined && !required) return undefined;
        const problem = wholeNumberRule(v, 1, limit);
        return problem && `${problem} (limits.maxVolumeSizeGb)`;
      },
    );
  }

  /** The storages this construct stands for on the host. */
  instances(): StorageInstance[] {
    if (this.kind !== 'volume' || this.shared) return [{ name: this.name }];
    const replicas = this.mounts[0]?.replicas ?? 1;
    const count = Number.isInteger(replicas) && replicas >= 1 && replicas <= MAX_REPLICAS ? replicas : 1;
    return Array.from({ length: count }, (_, i) => ({ name: replicaVolumeName(this.name, i + 1), replica: i + 1 }));
  }

  /** The host name of the storage replica `replica` of a Mount sees. */
  instanceFor(replica: number): string {
    return this.kind === 'volume' && !this.shared ? replicaVolumeName(this.name, replica) : this.name;
  }

  /** Every host path its Mounts bind it at, Mount by Mount, replica 1 first. */
  get hostPaths(): string[] {
    return this.mounts.flatMap((m) => m.hostPaths);
  }

  /** Its disk images on the host, one per instance (none for a directory volume). */
  get imagePaths(): string[] {
    if (this.kind === 'directory') return [];
    return this.instances().map((i) => imagePath(this.project.root, this.kind, this.project.name, i.name));
  }

  /** @internal the carrier a Mount or policy of `instance` waits for (created after it, destroyed before it) */
  carrierOf(instance: string): CarrierResource | undefined {
    return this.things.get(instance)?.thing.resource;
  }

  /** @internal what the project's manifest converges for it, instance by instance */
  manifestThings(): ManifestThing[] {
    return [...this.things.values()].map((t) => t.manifest);
  }

  /**
   * @internal calls `listener` for every instance, now and when one is added (a Mount decides how many a
   * non-shared volume has, and a SnapshotPolicy may be made before that Mount)
   */
  onInstance(listener: (instance: StorageInstance) => void): void {
    this.instanceListeners.push(listener);
    for (const instance of this.instances()) if (this.things.has(instance.name)) listener(instance);
  }

  /** @internal makes the carriers of instances that have none yet (a Mount calls it when it adds replicas) */
  renderInstances(): void {
    for (const instance of this.instances()) {
      if (this.things.has(instance.name)) continue;
      const spec = () => {
        const repository = this.backupRepository();
        if (repository) assertValid(this, repository);
        else assertValid(this);
        return this.wireSpec(instance.name);
      };
      const thing = renderThing(this, instance.replica === undefined ? '' : `-${instance.replica}`, {
        carrier: this.project.renderedCarrier,
        kind: 'storage',
        cli: this.project.cli,
        host: this.project.host,
        identity: () => identityOf('storage', spec()),
        spec: () => spec() as unknown as Record<string, string>,
      });
      this.things.set(instance.name, {
        thing,
        manifest: {
          address: this.node.path,
          kind: 'storage',
          thing,
          // Block storage grows in place; a grow a killed deploy left unfinished must fail the next plan.
          // Terraform's fileexists() reads the machine it runs on: a remote project's marker is on its host.
          ...(this.kind === 'directory' || this.project.host
            ? {}
            : {
                failPlanIfExists: interruptedGrowCheck({
                  root: this.project.root,
                  kind: this.kind,
                  project: this.project.name,
                  name: instance.name,
                }),
              }),
        },
      });
      for (const listener of this.instanceListeners) listener(instance);
    }
  }

  /** @internal */
  wireSpec(instance: string): StorageSpecWire {
    const from = this.fromBackup;
    return {
      ...this.project.hostField,
      kind: this.kind,
      root: this.project.root,
      project: this.project.name,
      name: instance,
      stack: this.project.stackName,
      size_gb: this.sizeGb === undefined ? '' : String(this.sizeGb),
      filesystem: this.filesystem ?? '',
      shared: String(this.shared) as 'true' | 'false',
      removal_policy: this.removalPolicy,
      from_snapshot: this.fromSnapshot ?? '',
      // Only when set: every storage without it renders exactly as before.
      ...(from === undefined
        ? {}
        : {
            from_backup: encodeFromBackup({
              repository: from.repository.wire(),
              snapshot: from.snapshot ?? LATEST_BACKUP,
            }),
          }),
    };
  }

  private storageProblems(): string[] {
    const problems = [...this.problems.list, ...this.instanceProblems()];
    // An invalid `host` is the project's one line, not every thing's spec the handler would refuse; so is an invalid repository's.
    if (problems.length > 0 || this.project.hostInvalid || (this.backupRepository()?.node.validate().length ?? 0) > 0)
      return problems;
    // Checked once, not once per replica: the replicas' specs differ only in their names.
    const refused = this.instances()
      .map((i) => specProblem(storageSpecSchema, this.wireSpec(i.name)))
      .find((p) => p !== undefined);
    return refused ? [refused] : [];
  }

  private instanceProblems(): string[] {
    const instances = this.instances();
    const problems = instances
      .filter((i) => nameRule(i.name) !== undefined && nameRule(this.name) === undefined)
      .map(
        (i) =>
          `\`name\` with shared: false becomes '${i.name}' for replica ${i.replica}, which ${nameRule(i.name)}; use a shorter name`,
      );
    if (this.fromBackup !== undefined && this.fromSnapshot !== undefined)
      problems.push(
        `\`fromBackup\` and \`fromSnapshot\` are both set (fromSnapshot ${JSON.stringify(this.fromSnapshot)}): a storage is created from one source; keep one`,
      );
    // Each replica of a non-shared volume is restored from the backups of its own name; one id is one replica's.
    const snapshot = this.fromBackup?.snapshot;
    if (instances.length > 1 && snapshot !== undefined && snapshot !== LATEST_BACKUP)
      problems.push(
        `\`fromBackup.snapshot\` names one backup, but volume '${this.name}' with shared: false has ${instances.length} replicas, each restored from the backups of its own name (${instances.map((i) => i.name).join(', ')}): use 'latest' (got ${JSON.stringify(snapshot)})`,
      );
    return problems;
  }

  /** The repository `fromBackup` names, when it is one (its own problems are its own lines). */
  private backupRepository(): BackupRepository | undefined {
    const repository = this.fromBackup?.repository;
    return repository instanceof BackupRepository ? repository : undefined;
  }
}
