/**
 * What Volume and Disk share: a name, a removal policy, the storage instances they stand for on the host
 * (a non-shared volume is one per replica), and the carriers that converge each instance.
 */
import { Construct } from 'constructs';
import type { TerraformResource } from 'cdktf';
import {
  REMOVAL_POLICIES,
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
import { renderCarrierPair } from './carrier.js';
import { StorageProject } from './storage-project.js';
import { Problems } from './validation.js';
import { interruptedGrowCheck } from './interrupted-grow.js';
import type { Mount } from './mount.js';

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
}

export abstract class StorageBase extends Construct {
  readonly project: StorageProject;
  readonly kind: StorageKind;
  readonly name: string;
  readonly sizeGb?: number;
  readonly filesystem?: Filesystem;
  readonly shared: boolean;
  readonly removalPolicy: RemovalPolicy;
  /** Snapshot id the storage is created from (only when it does not exist yet). */
  readonly fromSnapshot?: string;
  /** @internal */ readonly mounts: Mount[] = [];
  protected readonly problems = new Problems();
  private readonly configCarriers = new Map<string, TerraformResource>();

  protected constructor(scope: Construct, id: string, options: StorageBaseOptions) {
    super(scope, id);
    this.project = StorageProject.of(this);
    this.kind = options.kind;
    this.name = options.name;
    this.sizeGb = options.sizeGb;
    this.filesystem = options.filesystem;
    this.shared = options.shared;
    this.removalPolicy = options.removalPolicy;
    this.fromSnapshot = options.fromSnapshot;
    this.problems.check('name', this.name, nameRule);
    if (this.fromSnapshot !== undefined) this.problems.check('fromSnapshot', this.fromSnapshot, snapshotIdRule);
    this.problems.check('removalPolicy', this.removalPolicy, (v) => oneOfRule(v, REMOVAL_POLICIES));
    this.project.storages.push(this);
    this.node.addValidation({ validate: () => [...this.problems.list, ...this.instanceProblems()] });
  }

  protected checkSize(required: boolean): void {
    if (this.sizeGb === undefined && !required) return;
    // The limit is named, so the line also says which knob raises it.
    const limit = this.project.maxVolumeSizeGb;
    this.problems.check('sizeGb', this.sizeGb, (v) => {
      const problem = wholeNumberRule(v, 1, limit);
      return problem && `${problem} (limits.maxVolumeSizeGb)`;
    });
  }

  /** The storages this construct stands for on the host. */
  instances(): StorageInstance[] {
    if (this.kind !== 'volume' || this.shared) return [{ name: this.name }];
    const replicas = this.mounts[0]?.replicas ?? 1;
    const count = Number.isInteger(replicas) && replicas >= 1 ? replicas : 1;
    return Array.from({ length: count }, (_, i) => ({ name: replicaVolumeName(this.name, i + 1), replica: i + 1 }));
  }

  /** The host name of the storage replica `replica` of a Mount sees. */
  instanceFor(replica: number): string {
    return this.kind === 'volume' && !this.shared ? replicaVolumeName(this.name, replica) : this.name;
  }

  /** @internal the config carrier a Mount or policy of `instance` waits for */
  configCarrier(instance: string): TerraformResource | undefined {
    return this.configCarriers.get(instance);
  }

  /** @internal */
  wireSpec(instance: string): StorageSpecWire {
    return {
      kind: this.kind, root: this.project.root, project: this.project.name, name: instance, stack: this.project.stackName,
      size_gb: this.sizeGb === undefined ? '' : String(this.sizeGb), filesystem: this.filesystem ?? '',
      shared: String(this.shared) as 'true' | 'false', removal_policy: this.removalPolicy, from_snapshot: this.fromSnapshot ?? '',
    };
  }

  private instanceProblems(): string[] {
    return this.instances()
      .filter((i) => nameRule(i.name) !== undefined && nameRule(this.name) === undefined)
      .map((i) => `\`name\` with shared: false becomes '${i.name}' for replica ${i.replica}, which ${nameRule(i.name)}; use a shorter name`);
  }

  /** @internal the config carriers it renders; undefined when it is invalid (synth then fails on its errors) */
  render(): TerraformResource[] | undefined {
    if (this.node.validate().length > 0) return undefined;
    for (const instance of this.instances()) {
      const spec = this.wireSpec(instance.name);
      if (!this.problems.checkSpec(storageSpecSchema, spec)) continue;
      const suffix = instance.replica === undefined ? '' : `-${instance.replica}`;
      const pair = renderCarrierPair(this, suffix, {
        carrier: this.project.carrier, kind: 'storage', cli: this.project.cli,
        identity: { kind: spec.kind, root: spec.root, project: spec.project, name: spec.name },
        spec: spec as unknown as Record<string, string>,
        // Block storage grows in place; a grow a killed deploy left unfinished must fail the next plan.
        ...(spec.kind === 'directory' ? {} : { failPlanIfExists: interruptedGrowCheck(spec) }),
      });
      this.configCarriers.set(instance.name, pair.config);
    }
    return this.problems.ok ? [...this.configCarriers.values()] : undefined;
  }
}
