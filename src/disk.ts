/**
 * A Disk: an exclusive, named disk image (ext4, xfs or btrfs) that one instance holds a lease on at a
 * time. Reused by name when it already exists on the host; never deleted unless asked.
 */
import { Construct } from 'constructs';
import { FILESYSTEMS, oneOfRule, type Filesystem, type RemovalPolicy } from './schema.js';
import { StorageBase } from './storage-base.js';
import type { FromBackup } from './backup-repository.js';
import { unknownPropProblems, type PropNames } from './known-props.js';

export interface DiskProps {
  /** Unique name on the host: letters, digits and hyphens, at most 63 characters. An existing disk of this name is reused. */
  readonly name: string;
  /** Size in GB (GiB), needed only to create the disk; without it the disk must already exist (checked at apply). @default none */
  readonly sizeGb?: number;
  /** @default 'ext4' */
  readonly filesystem?: Filesystem;
  /** What deleting the construct does to the data. @default 'retain' */
  readonly removalPolicy?: RemovalPolicy;
  /** Create the disk as a copy of this snapshot (`hoststore snapshot list`); ignored once it exists. @default none */
  readonly fromSnapshot?: string;
  /**
   * Create the disk from a backup in this repository (the newest of a disk of this name, or one
   * restic snapshot id) when it does not exist on this host; ignored once it exists. With no backup of that
   * name yet it is created as without fromBackup; a repository that cannot be read refuses the create (never
   * empty storage because the network was down). Not with `fromSnapshot`. @default none
   */
  readonly fromBackup?: FromBackup;
}

/** Every prop Disk accepts; any other is refused at synth (the compiler keeps this in step with DiskProps). */
const DISK_PROPS: PropNames<DiskProps> = {
  name: true,
  sizeGb: true,
  filesystem: true,
  removalPolicy: true,
  fromSnapshot: true,
  fromBackup: true,
};

export class Disk extends StorageBase {
  constructor(scope: Construct, id: string, props: DiskProps) {
    // From JavaScript the props may be left out: then each required one is reported, not a TypeError.
    props = props ?? ({} as DiskProps);
    super(scope, id, {
      kind: 'disk',
      name: props.name,
      sizeGb: props.sizeGb,
      filesystem: props.filesystem ?? 'ext4',
      shared: false,
      removalPolicy: props.removalPolicy ?? 'retain',
      fromSnapshot: props.fromSnapshot,
      fromBackup: props.fromBackup,
    });
    for (const problem of unknownPropProblems(props, DISK_PROPS, 'Disk')) this.problems.add(problem);
    this.checkSize(false);
    this.problems.check('filesystem', this.filesystem, (v) => oneOfRule(v, FILESYSTEMS));
  }
}
