/**
 * A StorageProject groups the storage of one app under a host root, holds its limits, and checks the
 * rules that span several constructs (counts, unique names, one holder per disk) at synth.
 */
import { Construct, type IConstruct } from 'constructs';
import * as path from 'node:path';
import { packageRoot } from './module-context.cjs';
import {
  ABSOLUTE_MAX_SIZE_GB,
  CARRIERS,
  DEFAULT_MAX_VOLUMES,
  DEFAULT_MAX_VOLUME_SIZE_GB,
  DEFAULT_ROOT,
  oneOfRule,
  positiveWholeNumberRule,
  projectManifestSchema,
  projectNameRule,
  rootRule,
  wholeNumberRule,
  type Carrier,
  type ProjectManifestWire,
} from './schema.js';
import { renderManifestCarrier, renderRetirementCarrier, type ManifestThing } from './carrier.js';
import { frameworkOf, stackOf } from './framework.js';
import { Problems, assertValid, specProblem } from './validation.js';
import { unknownPropProblems, type PropNames } from './known-props.js';
import {
  DEFAULT_SSH_PORT,
  DEFAULT_SSH_USER,
  hostAddressRule,
  sshFileRule,
  sshPortRule,
  sshUserRule,
  type HostConnection,
} from './host-connection.js';
import type { StorageBase } from './storage-base.js';
import type { Mount } from './mount.js';
import type { SnapshotPolicy } from './snapshot-policy.js';

export interface StorageLimits {
  /** Most volumes the project may hold; a non-shared volume counts once per replica. @default 10 */
  readonly maxVolumes?: number;
  /** Largest `sizeGb` a Volume or Disk may have, at most 65536 (64 TiB, the handler's hard ceiling). @default 500 */
  readonly maxVolumeSizeGb?: number;
}

/** A storage host reached over OpenSSH (see src/host-connection.ts). Paths only: never key material. */
export interface HostProps {
  /** DNS name or IP address of the host; part of every storage's identity (another host is other storage). */
  readonly address: string;
  /** @default 'root' */
  readonly user?: string;
  /** @default 22 */
  readonly port?: number;
  /** Private key file on the machine that deploys. @default none: the SSH agent (or ssh's own defaults) */
  readonly identityFile?: string;
  /** known_hosts file holding the host's key; host keys are always checked. @default the deploying user's */
  readonly knownHostsFile?: string;
}

export interface StorageProjectProps {
  /** Project name: lowercase letters, digits and hyphens. @default the construct id */
  readonly name?: string;
  /** Host directory that holds everything (images, mounts, registry). @default '/var/lib/hoststore' */
  readonly root?: string;
  /** @default { maxVolumes: 10, maxVolumeSizeGb: 500 } */
  readonly limits?: StorageLimits;
  /** Terraform resource type that carries the provisioners. @default 'terraform_data' (built into Terraform >= 1.4) */
  readonly carrier?: Carrier;
  /**
   * The `hoststore` command the provisioners run.
   * @default the absolute path of this package's CLI (so `cdktf deploy` needs no PATH setup); 'hoststore' looks it up on PATH
   */
  readonly cli?: string;
  /**
   * The storage host, reached over SSH: the provisioners still run `hoststore handle` where Terraform runs,
   * and it forwards each request to `hoststore remote` on the host. Its address is part of every identity.
   * @default none: this machine
   */
  readonly host?: HostProps;
}

/** Every prop StorageProject (and its `limits`) accepts; any other is refused at synth (the compiler keeps these in step). */
const STORAGE_PROJECT_PROPS: PropNames<StorageProjectProps> = {
  name: true,
  root: true,
  limits: true,
  carrier: true,
  cli: true,
  host: true,
};
/** Every field of `host`; any other is refused at synth. */
const HOST_PROPS: PropNames<HostProps> = {
  address: true,
  user: true,
  port: true,
  identityFile: true,
  knownHostsFile: true,
};
const STORAGE_LIMITS_PROPS: PropNames<StorageLimits> = { maxVolumes: true, maxVolumeSizeGb: true };

/**
 * The CLI of this installed package, `<package>/dist/provider/cli.js`, computed from this module's own
 * location (dist/src when installed, src under ts-jest) without touching the host.
 */
function defaultCli(): string {
  return path.join(packageRoot(), 'dist', 'provider', 'cli.js');
}

/**
 * The connection a `host` prop gives, defaults filled, fields in one order (its JSON is HOSTSTORE_HOST);
 * undefined when there is none. An invalid one is kept as given: the project's validation reports it.
 */
function hostConnection(host: HostProps | undefined): HostConnection | undefined {
  if (typeof host !== 'object' || host === null || Array.isArray(host)) return undefined;
  // Key material given as a path is refused; it must not reach a provisioner's environment meanwhile.
  const file = (v: string) => (typeof v === 'string' && v.includes('PRIVATE KEY') ? '(key material, refused)' : v);
  return {
    address: host.address,
    user: host.user ?? DEFAULT_SSH_USER,
    port: host.port ?? DEFAULT_SSH_PORT,
    ...(host.identityFile === undefined ? {} : { identityFile: file(host.identityFile) }),
    ...(host.knownHostsFile === undefined ? {} : { knownHostsFile: file(host.knownHostsFile) }),
  };
}

/**
 * Every prop is read-only: the root, name and carrier type are part of every carrier's identity, and a
 * change after the constructs are made (from an Aspect) would not reach the carriers already made.
 */
export class StorageProject extends Construct {
  /** The project enclosing `scope`; throws naming the construct when there is none. */
  static of(scope: IConstruct): StorageProject {
    const found = scope.node.scopes.reverse().find((s): s is StorageProject => s instanceof StorageProject);
    if (!found)
      throw new Error(`[${scope.node.path}] must be created inside a StorageProject (new Volume(project, ...))`);
    return found;
  }

  readonly name: string;
  readonly root: string;
  readonly maxVolumes: number;
  readonly maxVolumeSizeGb: number;
  readonly carrier: Carrier;
  readonly cli: string;
  /** Name of the stack this project lives in; recorded on the host as the owner. */
  readonly stackName: string;
  /** The storage host with its defaults filled; undefined for a local project (this machine). */
  readonly host: HostConnection | undefined;

  /** @internal */ readonly storages: StorageBase[] = [];
  /** @internal */ readonly mounts: Mount[] = [];
  /** @internal */ readonly policies: SnapshotPolicy[] = [];
  private readonly problems: Problems;

  constructor(scope: Construct, id: string, props: StorageProjectProps = {}) {
    super(scope, id);
    // First: a stack made by another framework copy fails here, at once, naming both copies.
    const framework = frameworkOf(this);
    this.name = props.name ?? id;
    this.root = props.root ?? DEFAULT_ROOT;
    this.maxVolumes = props.limits?.maxVolumes ?? DEFAULT_MAX_VOLUMES;
    this.maxVolumeSizeGb = props.limits?.maxVolumeSizeGb ?? DEFAULT_MAX_VOLUME_SIZE_GB;
    this.carrier = props.carrier ?? 'terraform_data';
    this.cli = props.cli ?? defaultCli();
    this.stackName = stackOf(this).node.id;
    this.host = hostConnection(props.host);

    const problems = (this.problems = new Problems((v) => framework.Token.isUnresolved(v)));
    for (const problem of unknownPropProblems(props, STORAGE_PROJECT_PROPS, 'StorageProject')) problems.add(problem);
    if (
      props.limits !== undefined &&
      (typeof props.limits !== 'object' || props.limits === null || Array.isArray(props.limits))
    ) {
      problems.add(
        `\`limits\` must be an object such as { maxVolumes: 10, maxVolumeSizeGb: 500 } (got ${JSON.stringify(props.limits)})`,
      );
    }
    for (const problem of unknownPropProblems(
      Array.isArray(props.limits) ? undefined : props.limits,
      STORAGE_LIMITS_PROPS,
      'StorageProject `limits`',
      'limits.',
    ))
      problems.add(problem);
    problems.check('name', this.name, projectNameRule);
    problems.check('root', this.root, rootRule);
    problems.check('limits.maxVolumes', this.maxVolumes, positiveWholeNumberRule);
    problems.check('limits.maxVolumeSizeGb', this.maxVolumeSizeGb, (v) => wholeNumberRule(v, 1, ABSOLUTE_MAX_SIZE_GB));
    problems.check('carrier', this.carrier, (v) => oneOfRule(v, CARRIERS));
    problems.check('cli', this.cli, (v) =>
      typeof v !== 'string' || v.length === 0 ? 'must be a command name or path' : undefined,
    );
    const before = problems.list.length;
    this.checkHost(props.host);
    this.hostInvalid = problems.list.length > before;
    this.node.addValidation({ validate: () => this.projectProblems() });

    // Made now, so every synth path renders it; what it lists is read at synth, once every construct exists.
    const retirement = renderRetirementCarrier(this, {
      carrier: this.renderedCarrier,
      cli: this.cli,
      host: this.host,
      identity: () => {
        assertValid(this);
        return { ...this.hostField, root: this.root, project: this.name, stack: this.stackName };
      },
    });
    renderManifestCarrier(this, {
      retirement,
      carrier: this.renderedCarrier,
      cli: this.cli,
      host: this.host,
      spec: () => this.manifest(true) as unknown as Record<string, string>,
      things: () => this.manifestThings(),
    });
  }

  /**
   * @internal the wire field saying which host a thing is on: `{ host: <address> }` for a remote project,
   * nothing at all for a local one (a local stack's identities stay exactly as they were)
   */
  get hostField(): { host?: string } {
    return this.host ? { host: this.host.address } : {};
  }

  /**
   * @internal true when `host` is invalid: the project reports it, once; its things do not repeat it as a
   * spec the handler would refuse
   */
  readonly hostInvalid: boolean;

  private checkHost(host: unknown): void {
    const problems = this.problems;
    if (host === undefined) return;
    if (typeof host !== 'object' || host === null || Array.isArray(host)) {
      problems.add(
        `\`host\` must be an object such as { address: 'storage-1.internal', identityFile: '/ci/keys/storage' } (got ${JSON.stringify(host) ?? String(host)}); leave it out for this machine`,
      );
      return;
    }
    for (const problem of unknownPropProblems(host, HOST_PROPS, 'StorageProject `host`', 'host.'))
      problems.add(problem);
    const given = host as Record<string, unknown>;
    problems.check('host.address', given.address, hostAddressRule);
    const optional = (rule: (v: unknown) => string | undefined) => (v: unknown) =>
      v === undefined ? undefined : rule(v);
    problems.check('host.user', given.user, optional(sshUserRule));
    problems.check('host.port', given.port, optional(sshPortRule));
    for (const field of ['identityFile', 'knownHostsFile'] as const) {
      // Key material pasted where its path belongs is refused without being echoed into logs.
      if (typeof given[field] === 'string' && (given[field] as string).includes('PRIVATE KEY'))
        problems.add(`\`host.${field}\` ${sshFileRule(given[field])} (got key material, not shown)`);
      else problems.check(`host.${field}`, given[field], optional(sshFileRule));
    }
  }

  /** @internal the carrier type carriers are made with (an invalid one fails validation, and its lazy values, anyway) */
  get renderedCarrier(): Carrier {
    return (CARRIERS as readonly unknown[]).includes(this.carrier) ? this.carrier : 'terraform_data';
  }

  private projectProblems(): string[] {
    const problems = [...this.problems.list, ...this.crossConstructProblems()];
    // The manifest of a project with an invalid part would list what cannot be made: that part's errors say enough.
    if (
      problems.length > 0 ||
      [...this.storages, ...this.mounts, ...this.policies].some((part) => part.node.validate().length > 0)
    )
      return problems;
    const problem = specProblem(projectManifestSchema, this.manifest(false));
    return problem ? [problem] : [];
  }

  /** What the project declares, as its manifest carrier's triggers. */
  private manifest(check: boolean): ProjectManifestWire {
    // An invalid part would be missing from the stack or the manifest: the manifest refuses to render then.
    if (check) assertValid(this, ...this.storages, ...this.mounts, ...this.policies);
    return {
      ...this.hostField,
      root: this.root,
      project: this.name,
      stack: this.stackName,
      storage: this.storages
        .flatMap((s) => s.instances().map((i) => `${s.kind}:${i.name}`))
        .sort()
        .join(','),
      mounts: this.mounts
        .flatMap((m) => m.manifestEntries())
        .sort()
        .join(','),
      policies: this.policies
        .flatMap((p) => p.manifestEntries())
        .sort()
        .join(','),
    };
  }

  /** Everything the manifest converges, storage first, then mounts, then policies (it waits for all of them). */
  private manifestThings(): ManifestThing[] {
    return [...this.storages, ...this.mounts, ...this.policies].flatMap((part) => part.manifestThings());
  }

  private crossConstructProblems(): string[] {
    const problems: string[] = [];
    const volumes = this.storages.filter((s) => s.kind !== 'disk').flatMap((s) => s.instances());
    if (positiveWholeNumberRule(this.maxVolumes) === undefined && volumes.length > this.maxVolumes) {
      problems.push(
        `\`limits.maxVolumes\` allows at most ${this.maxVolumes} volumes in project '${this.name}' (got ${volumes.length}: ${volumes.map((v) => v.name).join(', ')}); a volume with shared: false counts once per replica. Remove volumes, share one, or raise limits.maxVolumes`,
      );
    }
    const seen = new Map<string, string>();
    // A storage or mount whose own prop is missing or mistyped reports it itself; these rules skip it.
    for (const storage of this.storages.filter((s) => typeof s.name === 'string')) {
      for (const instance of storage.instances()) {
        const key = instance.name.toLowerCase();
        const other = seen.get(key);
        if (other)
          problems.push(
            `storage names must be unique in project '${this.name}': '${instance.name}' is used by ${other} and ${storage.node.path}`,
          );
        else seen.set(key, storage.node.path);
      }
    }
    const policyNames = new Map<string, string>();
    for (const policy of this.policies) {
      const other = policyNames.get(policy.node.id);
      if (other)
        problems.push(
          `snapshot policy ids must be unique in project '${this.name}' (the id names the policy on the host): '${policy.node.id}' is used by ${other} and ${policy.node.path}`,
        );
      else policyNames.set(policy.node.id, policy.node.path);
    }
    const twin = this.node.root.node
      .findAll()
      .find(
        (c): c is StorageProject =>
          c instanceof StorageProject &&
          c !== this &&
          c.name === this.name &&
          c.root === this.root &&
          c.host?.address === this.host?.address,
      );
    if (twin) {
      problems.push(
        `\`name\` must be unique per root in an app: project '${this.name}' under '${this.root}'${this.host ? ` on ${this.host.address}` : ''} is also declared by ${twin.node.path}; the two would share one host directory. Give one a different name`,
      );
    }
    const byService = new Map<string, Mount[]>();
    for (const mount of this.mounts.filter((m) => typeof m.mountPath === 'string'))
      byService.set(mount.service, [...(byService.get(mount.service) ?? []), mount]);
    for (const [service, mounts] of byService) {
      for (let i = 0; i < mounts.length; i += 1) {
        for (let j = i + 1; j < mounts.length; j += 1) {
          const [a, b] = [mounts[i].mountPath, mounts[j].mountPath];
          if (a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`)) {
            problems.push(
              `\`mountPath\` of service '${service}' must not repeat or nest: ${mounts[i].node.path} mounts '${a}' and ${mounts[j].node.path} mounts '${b}'`,
            );
          }
        }
      }
    }
    return problems;
  }
}
