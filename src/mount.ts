/**
 * A Mount makes a Volume or Disk visible at `mountPath` inside every replica of a service. Each replica
 * gets its own host path under the project root (`hostPaths`, also a Terraform output) for the container
 * runtime to bind in.
 */
import { Construct } from 'constructs';
import {
  MAX_REPLICAS,
  mountPathRule,
  mountSpecSchema,
  nameRule,
  replicaHostPath,
  wholeNumberRule,
  type MountSpecWire,
} from './schema.js';
import { renderThing, type ManifestThing } from './carrier.js';
import { frameworkOf } from './framework.js';
import { StorageBase } from './storage-base.js';
import { StorageProject } from './storage-project.js';
import { Problems, assertValid, specProblem } from './validation.js';
import { unknownPropProblems, type PropNames } from './known-props.js';
import { outputName, renderOutput, type OutputRef } from './outputs.js';
import { identityOf } from './kinds.js';

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
const MOUNT_PROPS: PropNames<MountProps> = {
  storage: true,
  service: true,
  mountPath: true,
  replicas: true,
  readOnly: true,
};

/**
 * `readOnly` may be changed until synth (by a user's Aspect, for example): the carriers read it when the
 * stack is synthesized. `storage`, `service`, `mountPath` and `replicas` are read-only: they decide the
 * mount's identity and how many carriers it has, made when it is constructed.
 */
export class Mount extends Construct {
  readonly storage: StorageBase;
  readonly service: string;
  readonly mountPath: string;
  readonly replicas: number;
  /** Mount read-only; read at synth, so an Aspect may change it. */
  readOnly: boolean;
  /** Terraform output `<project>_<construct path under the project>_host_paths` listing `hostPaths`, for `cdktf output` or a cross-stack reference. */
  readonly hostPathsOutput: OutputRef;
  private readonly project: StorageProject;
  private readonly problems: Problems;
  private readonly things: ManifestThing[] = [];

  constructor(scope: Construct, id: string, props: MountProps) {
    super(scope, id);
    props = props ?? ({} as MountProps);
    this.project = StorageProject.of(this);
    const framework = frameworkOf(this);
    this.storage = props.storage;
    this.service = props.service;
    this.mountPath = props.mountPath;
    this.replicas = props.replicas ?? 1;
    this.readOnly = props.readOnly ?? false;
    const p = (this.problems = new Problems((v) => framework.Token.isUnresolved(v)));
    for (const problem of unknownPropProblems(props, MOUNT_PROPS, 'Mount')) p.add(problem);
    if (!(props.storage instanceof StorageBase)) {
      p.add(`\`storage\` must be a Volume or Disk (got ${typeof props.storage})`);
    } else {
      if (props.storage.project !== this.project) {
        p.add(
          `\`storage\` must belong to the same StorageProject: ${props.storage.node.path} is in project '${props.storage.project.name}', this Mount is in '${this.project.name}'`,
        );
      }
      props.storage.mounts.push(this);
      // A non-shared volume has one storage per replica of its (first) Mount: those are made now.
      props.storage.renderInstances();
    }
    p.check('service', this.service, nameRule);
    p.check('mountPath', this.mountPath, mountPathRule);
    p.check('replicas', this.replicas, (v) => wholeNumberRule(v, 1, MAX_REPLICAS));
    p.watch(
      'readOnly',
      () => this.readOnly,
      (v) => (typeof v !== 'boolean' ? 'must be true or false' : undefined),
    );
    this.project.mounts.push(this);
    this.node.addValidation({ validate: () => this.mountProblems() });
    this.renderReplicas();
    this.hostPathsOutput = renderOutput(
      this,
      'host-paths',
      outputName(this.project, this, 'host_paths'),
      () => this.hostPaths,
      `Host paths of ${this.service}'s replicas for ${this.mountPath}, in replica order`,
    );
  }

  /** The host path each replica binds in at `mountPath`, replica 1 first. */
  get hostPaths(): string[] {
    const count =
      Number.isInteger(this.replicas) && this.replicas >= 1 && this.replicas <= MAX_REPLICAS ? this.replicas : 0;
    return Array.from({ length: count }, (_, i) =>
      replicaHostPath(this.project.root, this.project.name, this.service, i + 1, this.mountPath),
    );
  }

  private relationProblems(): string[] {
    const storage = this.storage;
    if (!(storage instanceof StorageBase)) return [];
    const problems: string[] = [];
    if (storage.kind === 'disk') {
      if (this.replicas > 1) {
        problems.push(
          `\`replicas\` must be 1 for a Disk (got ${this.replicas}): disk '${storage.name}' is exclusive, one instance holds its lease; use one disk per instance, or a shared Volume`,
        );
      }
      if (storage.mounts.length > 1 && storage.mounts[0] !== this) {
        problems.push(
          `Cannot mount disk '${storage.name}' here since it is already mounted by ${storage.mounts[0].node.path}: a disk is exclusive; use one disk per instance`,
        );
      }
    }
    if (storage.kind === 'volume' && !storage.shared && storage.mounts.length > 1 && storage.mounts[0] !== this) {
      problems.push(
        `Cannot mount volume '${storage.name}' here since it is already mounted by ${storage.mounts[0].node.path}: a volume with shared: false gives each replica of one service its own volume; set shared: true to share it`,
      );
    }
    return problems;
  }

  private mountProblems(): string[] {
    const problems = [...this.problems.list, ...this.relationProblems()];
    if (
      problems.length > 0 ||
      this.project.hostInvalid ||
      !(this.storage instanceof StorageBase) ||
      this.storage.node.validate().length > 0
    )
      return problems;
    // A Mount of an invalid storage says nothing more than the storage's own errors.
    const refused = this.hostPaths
      .map((_, i) => specProblem(mountSpecSchema, this.wireSpec(i + 1)))
      .find((m) => m !== undefined);
    return refused ? [refused] : [];
  }

  private wireSpec(replica: number): MountSpecWire {
    return {
      ...this.project.hostField,
      root: this.project.root,
      project: this.project.name,
      storage: this.storage.instanceFor(replica),
      storage_kind: this.storage.kind,
      service: this.service,
      replica: String(replica),
      mount_path: this.mountPath,
      stack: this.project.stackName,
      host_path: replicaHostPath(this.project.root, this.project.name, this.service, replica, this.mountPath),
      read_only: String(this.readOnly) as 'true' | 'false',
    };
  }

  /** One carrier per replica, each waiting for the storage (replica) it mounts. */
  private renderReplicas(): void {
    if (!(this.storage instanceof StorageBase)) return;
    const storage = this.storage;
    this.hostPaths.forEach((_, i) => {
      const replica = i + 1;
      const spec = () => {
        assertValid(this, storage);
        return this.wireSpec(replica);
      };
      const storageCarrier = storage.carrierOf(storage.instanceFor(replica));
      const thing = renderThing(this, `-${replica}`, {
        carrier: this.project.renderedCarrier,
        kind: 'mount',
        cli: this.project.cli,
        host: this.project.host,
        identity: () => identityOf('mount', spec()),
        spec: () => spec() as unknown as Record<string, string>,
        dependsOn: storageCarrier ? [storageCarrier] : [],
      });
      this.things.push({ address: this.node.path, kind: 'mount', thing });
    });
  }

  /** @internal what the project's manifest converges for it, replica by replica */
  manifestThings(): ManifestThing[] {
    return [...this.things];
  }

  /** @internal manifest entries (`service/replica:/path`) */
  manifestEntries(): string[] {
    return this.hostPaths.map((_, i) => `${this.service}/${i + 1}:${this.mountPath}`);
  }
}
