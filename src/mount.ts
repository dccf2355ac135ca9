/**
 * A Mount makes a Volume or Disk visible at `mountPath` inside every replica of a service. Each replica
 * gets its own host path under the project root (`hostPaths`, also a Terraform output) for the container
 * runtime to bind in.
 */
import { Construct } from 'constructs';
import { TerraformOutput, type TerraformResource } from 'cdktf';
import { MAX_REPLICAS, mountPathRule, mountSpecSchema, nameRule, replicaHostPath, wholeNumberRule, type MountSpecWire } from './schema.js';
import { renderCarrierPair } from './carrier.js';
import { StorageBase } from './storage-base.js';
import { StorageProject } from './storage-project.js';
import { Problems } from './validation.js';
import { unknownPropProblems, type PropNames } from './known-props.js';

export interface MountProps {
  /** The Volume or Disk to mount (from the same StorageProject). */
  readonly storage: StorageBase;
  /** Service name: letters, digits and hyphens. */
  readonly service: string;
  /** Absolute, normalized path inside the container, not `/`. */
  readonly mountPath: string;
  /** Replicas of the service, each with its own host path. @default 1 */
  readonly replicas?: number;
  /** Mount read-only. Toggling it remounts in place. @default false */
  readonly readOnly?: boolean;
}

/** Every prop Mount accepts; any other is refused at synth (the compiler keeps this in step with MountProps). */
const MOUNT_PROPS: PropNames<MountProps> = { storage: true, service: true, mountPath: true, replicas: true, readOnly: true };

export class Mount extends Construct {
  readonly storage: StorageBase;
  readonly service: string;
  readonly mountPath: string;
  readonly replicas: number;
  readonly readOnly: boolean;
  /** The Terraform output listing `hostPaths`, for `cdktf output` or a cross-stack reference. */
  readonly hostPathsOutput: TerraformOutput;
  private readonly project: StorageProject;
  private readonly problems = new Problems();

  constructor(scope: Construct, id: string, props: MountProps) {
    super(scope, id);
    this.project = StorageProject.of(this);
    this.storage = props.storage;
    this.service = props.service;
    this.mountPath = props.mountPath;
    this.replicas = props.replicas ?? 1;
    this.readOnly = props.readOnly ?? false;
    const p = this.problems;
    for (const problem of unknownPropProblems(props, MOUNT_PROPS, 'Mount')) p.add(problem);
    if (!(props.storage instanceof StorageBase)) {
      p.add(`\`storage\` must be a Volume or Disk (got ${typeof props.storage})`);
    } else {
      if (props.storage.project !== this.project) {
        p.add(`\`storage\` must belong to the same StorageProject: ${props.storage.node.path} is in project '${props.storage.project.name}', this Mount is in '${this.project.name}'`);
      }
      props.storage.mounts.push(this);
    }
    p.check('service', this.service, nameRule);
    p.check('mountPath', this.mountPath, mountPathRule);
    p.check('replicas', this.replicas, (v) => wholeNumberRule(v, 1, MAX_REPLICAS));
    if (typeof this.readOnly !== 'boolean') p.add(`\`readOnly\` must be true or false (got ${JSON.stringify(this.readOnly)})`);
    this.project.mounts.push(this);
    this.node.addValidation({ validate: () => [...p.list, ...this.relationProblems()] });
    this.hostPathsOutput = new TerraformOutput(this, 'host-paths', {
      value: this.hostPaths,
      description: `Host paths of ${this.service}'s replicas for ${this.mountPath}, in replica order`,
    });
  }

  /** The host path each replica binds in at `mountPath`, replica 1 first. */
  get hostPaths(): string[] {
    const count = Number.isInteger(this.replicas) && this.replicas >= 1 && this.replicas <= MAX_REPLICAS ? this.replicas : 0;
    return Array.from({ length: count }, (_, i) =>
      replicaHostPath(this.project.root, this.project.name, this.service, i + 1, this.mountPath));
  }

  private relationProblems(): string[] {
    const storage = this.storage;
    if (!(storage instanceof StorageBase)) return [];
    const problems: string[] = [];
    if (storage.kind === 'disk') {
      if (this.replicas > 1) {
        problems.push(`\`replicas\` must be 1 for a Disk (got ${this.replicas}): disk '${storage.name}' is exclusive, one instance holds its lease; use one disk per instance, or a shared Volume`);
      }
      if (storage.mounts.length > 1 && storage.mounts[0] !== this) {
        problems.push(`Cannot mount disk '${storage.name}' here since it is already mounted by ${storage.mounts[0].node.path}: a disk is exclusive; use one disk per instance`);
      }
    }
    if (storage.kind === 'volume' && !storage.shared && storage.mounts.length > 1 && storage.mounts[0] !== this) {
      problems.push(`Cannot mount volume '${storage.name}' here since it is already mounted by ${storage.mounts[0].node.path}: a volume with shared: false gives each replica of one service its own volume; set shared: true to share it`);
    }
    return problems;
  }

  /** @internal the config carriers it renders; undefined when it is invalid (synth then fails on its errors) */
  render(): TerraformResource[] | undefined {
    // Rendered after the storage: a Mount of an invalid storage says nothing more than the storage's own errors.
    if (this.node.validate().length > 0 || !(this.storage instanceof StorageBase) || this.storage.node.validate().length > 0) return undefined;
    const configs: TerraformResource[] = [];
    this.hostPaths.forEach((hostPath, i) => {
      const replica = i + 1;
      const storageName = this.storage.instanceFor(replica);
      const spec: MountSpecWire = {
        root: this.project.root, project: this.project.name, storage: storageName, storage_kind: this.storage.kind,
        service: this.service, replica: String(replica), mount_path: this.mountPath, stack: this.project.stackName,
        host_path: hostPath, read_only: String(this.readOnly) as 'true' | 'false',
      };
      if (!this.problems.checkSpec(mountSpecSchema, spec)) return;
      const storageConfig = this.storage.configCarrier(storageName);
      const { stack: _stack, host_path: _hostPath, read_only: _readOnly, ...identity } = spec;
      configs.push(renderCarrierPair(this, `-${replica}`, {
        carrier: this.project.carrier, kind: 'mount', cli: this.project.cli, identity,
        spec: spec as unknown as Record<string, string>, dependsOn: storageConfig ? [storageConfig] : [],
      }).config);
    });
    return this.problems.ok ? configs : undefined;
  }

  /** @internal manifest entries (`service/replica:/path`) */
  manifestEntries(): string[] {
    return this.hostPaths.map((_, i) => `${this.service}/${i + 1}:${this.mountPath}`);
  }
}
