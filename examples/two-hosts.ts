/**
 * Two storage hosts from one stack: the shop's database disk on one host, its media volumes on another,
 * each reached over SSH from the machine that runs `cdktf deploy` (a CI runner, no root needed there).
 */
import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { Disk, Mount, SnapshotPolicy, StorageProject, Volume } from '../src/index.js';

/** One storage host of the example: how to reach it, and the root hoststore uses there. */
export interface ExampleHost {
  readonly address: string;
  readonly user?: string;
  readonly port?: number;
  readonly identityFile?: string;
  readonly knownHostsFile?: string;
  /** The StorageProject's root on that host. @default '/var/lib/hoststore' */
  readonly root?: string;
}

/** The hosts the example names when none are given: what a CI runner of the README's workflow would reach. */
export const EXAMPLE_HOSTS: readonly [ExampleHost, ExampleHost] = [
  { address: 'storage-1.internal', identityFile: '/ci/keys/storage', knownHostsFile: '/ci/known_hosts' },
  { address: 'storage-2.internal', identityFile: '/ci/keys/storage', knownHostsFile: '/ci/known_hosts' },
];

export function twoHostsStack(
  scope: Construct,
  id: string,
  hosts: readonly [ExampleHost, ExampleHost] = EXAMPLE_HOSTS,
): TerraformStack {
  const stack = new TerraformStack(scope, id);
  const [dbHost, mediaHost] = hosts.map(({ root, ...host }) => ({ root, host }));

  // A project is on one host; the host's address is part of every storage's identity there.
  const db = new StorageProject(stack, 'shop-db', dbHost);
  const pg = new Disk(db, 'postgres', { name: 'shop-postgres', sizeGb: 20 });
  new Mount(db, 'postgres-mount', { storage: pg, service: 'db', mountPath: '/var/lib/postgresql/data' });
  new SnapshotPolicy(db, 'nightly', { storage: pg, schedule: '0 3 * * *', retentionDays: 14 });

  const media = new StorageProject(stack, 'shop-media', mediaHost);
  const images = new Volume(media, 'images', { sizeGb: 50, shared: true });
  new Mount(media, 'images-mount', { storage: images, service: 'web', mountPath: '/srv/images', replicas: 2 });
  const thumbs = new Volume(media, 'thumbnails', { sizeGb: 10 });
  new Mount(media, 'thumbnails-mount', { storage: thumbs, service: 'resizer', mountPath: '/var/cache/thumbs' });
  return stack;
}
