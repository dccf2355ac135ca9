/**
 * A Volume: an ext4 block volume of `sizeGb` (one per replica unless `shared`), or with
 * `type: 'directory'` local shared storage, a host directory with no size that any number of replicas mount.
 */
import { Construct } from 'constructs';
import type { RemovalPolicy } from './schema.js';
import { StorageBase } from './storage-base.js';
import type { FromBackup } from './backup-repository.js';
import { unknownPropProblems, type PropNames } from './known-props.js';

export interface BlockVolumeProps {
  /** Name on the host: letters, digits and hyphens, at most 63 characters. @default the construct id */
  readonly name?: string;
  /** Size in GB (GiB), a whole number from 1 to the project's `limits.maxVolumeSizeGb`. Raising it grows the volume in place. */
  readonly sizeGb: number;
  /** One filesystem seen by every replica (true), or one volume per replica named `<name>-<replica>` (false). @default false */
  readonly shared?: boolean;
  /** What deleting the construct does to the data: keep it, delete it, or snapshot then delete it. @default 'retain' */
  readonly removalPolicy?: RemovalPolicy;
  /** Volumes are ext4; any other value is refused at synth. @default 'ext4' */
  readonly filesystem?: 'ext4';
  /** Create the volume as a copy of this snapshot (`hoststore snapshot list`); ignored once it exists. @default none */
  readonly fromSnapshot?: string;
  /**
   * Create the volume from a backup in this repository (the newest of a volume of this name, or one restic
   * snapshot id; with shared: false each replica `<name>-<n>` from the newest of its own name, so only
   * 'latest') when it does not exist on this host; ignored once it exists. With no backup of that
   * name yet it is created as without fromBackup; a repository that cannot be read refuses the create (never
   * empty storage because the network was down). Not with `fromSnapshot`. @default none
   */
  readonly fromBackup?: FromBackup;
}

export interface DirectoryVolumeProps {
  /** @default the construct id */
  readonly name?: string;
  /** Local shared storage: a directory under the project root, bound into every replica. */
  readonly type: 'directory';
  /** @default 'retain' */
  readonly removalPolicy?: RemovalPolicy;
  /** Create the directory as a copy of this snapshot; ignored once it exists. @default none */
  readonly fromSnapshot?: string;
  /**
   * Create the directory from a backup in this repository (the newest of a directory of this name, or one
   * restic snapshot id) when it does not exist on this host; ignored once it exists. With no backup of that
   * name yet it is created as without fromBackup; a repository that cannot be read refuses the create (never
   * empty storage because the network was down). Not with `fromSnapshot`. @default none
   */
  readonly fromBackup?: FromBackup;
}

export type VolumeProps = BlockVolumeProps | DirectoryVolumeProps;

/**
 * Every prop a Volume accepts, block or directory (the props that do not apply to a directory get their own
 * message); any other is refused at synth. The compiler keeps this in step with both props interfaces.
 */
const VOLUME_PROPS: PropNames<BlockVolumeProps & DirectoryVolumeProps> = {
  name: true,
  sizeGb: true,
  shared: true,
  removalPolicy: true,
  filesystem: true,
  fromSnapshot: true,
  fromBackup: true,
  type: true,
};

function isDirectory(props: VolumeProps): props is DirectoryVolumeProps {
  return (props as DirectoryVolumeProps).type === 'directory';
}

export class Volume extends StorageBase {
  constructor(scope: Construct, id: string, props: VolumeProps) {
    props = props ?? ({} as VolumeProps);
    const directory = isDirectory(props);
    const block = props as BlockVolumeProps;
    super(scope, id, {
      kind: directory ? 'directory' : 'volume',
      name: props.name ?? id,
      sizeGb: directory ? undefined : block.sizeGb,
      filesystem: directory ? undefined : 'ext4',
      shared: directory ? true : (block.shared ?? false),
      removalPolicy: props.removalPolicy ?? 'retain',
      fromSnapshot: props.fromSnapshot,
      fromBackup: props.fromBackup,
    });
    for (const problem of unknownPropProblems(props, VOLUME_PROPS, 'Volume')) this.problems.add(problem);
    const type = (props as { type?: unknown }).type;
    if (type !== undefined && type !== 'directory')
      this.problems.add(`\`type\` must be 'directory' or left out for a block volume (got ${JSON.stringify(type)})`);
    if (directory) {
      const extra = (['sizeGb', 'shared', 'filesystem'] as const).filter(
        (k) => (props as unknown as Record<string, unknown>)[k] !== undefined,
      );
      for (const key of extra)
        this.problems.add(
          `\`${key}\` does not apply to a directory volume (type: 'directory' has no size or filesystem) (got ${JSON.stringify((props as unknown as Record<string, unknown>)[key])})`,
        );
    } else {
      this.checkSize(true);
      if (block.filesystem !== undefined && block.filesystem !== 'ext4') {
        this.problems.add(
          `\`filesystem\` of a Volume must be 'ext4' (volumes are ext4 only; use a Disk for xfs or btrfs) (got ${JSON.stringify(block.filesystem)})`,
        );
      }
      if (block.shared !== undefined && typeof block.shared !== 'boolean')
        this.problems.add(`\`shared\` must be true or false (got ${JSON.stringify(block.shared)})`);
    }
  }
}
