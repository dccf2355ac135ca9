/**
 * What is on a root, as `hoststore list` and `status` show it: each storage from the registry joined
 * with what the host really has (image, allocation, mounts, lease), plus disk images nobody manages.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Filesystem, StorageKind } from '../src/schema.js';
import { Registry, type LeaseRecord, type MountRecord, type StorageRecord } from './registry/store.js';
import { readMountTable, type MountEntry } from './host/mounts.js';
import { filesystemUsage } from './host/fs-usage.js';
import type { FilesystemUsage } from './dashboard/api.js';
import { imageStat } from './host/image.js';
import { readFilesystemSignature } from './host/fs-signature.js';
import { checkInsideRoot, checkRootTrust, recordedHostPath, recordedStoragePath } from './host/root-trust.js';
import { imagePath, nameRule, stagingPath } from '../src/schema.js';

export type ItemState = 'creating' | 'available' | 'mounted' | 'retained' | 'missing' | 'unmanaged';

export interface InventoryMount {
  readonly project: string;
  readonly service: string;
  readonly replica: number;
  readonly mountPath: string;
  readonly hostPath: string;
  readonly readOnly: boolean;
  /** The host path really is a mount point right now. */
  readonly mounted: boolean;
}

export interface InventoryItem {
  readonly name: string;
  readonly kind: StorageKind;
  readonly project: string;
  readonly stack?: string;
  readonly sizeGb?: number;
  readonly filesystem?: Filesystem;
  readonly allocatedBytes?: number;
  /** How full the filesystem inside the image is (absent for a directory volume, or when it cannot be read). */
  readonly usage?: FilesystemUsage;
  readonly state: ItemState;
  /** Where the layout puts it (computed from kind, project and name; a record's own `path` is never used). */
  readonly path: string;
  readonly removalPolicy?: string;
  readonly mounts: InventoryMount[];
  readonly lease?: LeaseRecord;
  readonly createdAt?: string;
  readonly retainedAt?: string;
}

export function inventory(root: string): InventoryItem[] {
  // Read commands open the registry and images too: the same check as before a change.
  checkRootTrust(root);
  const registry = new Registry(root);
  // Read once for every item: usage and mount state spawn nothing per item.
  const table = readMountTable();
  const targets = new Set(table.map((entry) => entry.target));
  const mounts = registry.mounts();
  const items: InventoryItem[] = registry
    .list<StorageRecord>('storage')
    .map(({ record }) => item(root, registry, record, mounts, table, targets));
  const known = new Set(items.filter((i) => i.kind === 'disk').map((i) => i.name));
  for (const file of safeReaddir(path.join(root, 'disks'))) {
    const name = file.replace(/\.img$/, '');
    if (!file.endsWith('.img') || known.has(name) || nameRule(name)) continue;
    const image = checkInsideRoot(root, imagePath(root, 'disk', '', name));
    let sizeGb: number | undefined;
    try {
      sizeGb = Math.floor(fs.statSync(image).size / 1024 ** 3);
    } catch {
      continue;
    }
    const filesystem = safeSignature(image);
    items.push({
      name,
      kind: 'disk',
      project: '',
      sizeGb,
      filesystem,
      allocatedBytes: imageStat(image)?.allocatedBytes,
      usage: filesystemUsage(image, filesystem, [], table),
      state: 'unmanaged',
      path: image,
      mounts: [],
    });
  }
  return items;
}

function item(
  root: string,
  registry: Registry,
  record: StorageRecord,
  all: MountRecord[],
  table: readonly MountEntry[],
  targets: Set<string>,
): InventoryItem {
  const mounts = all
    .filter(
      (m) =>
        m.storageKind === record.kind &&
        m.storage === record.name &&
        (record.kind === 'disk' || m.project === record.project),
    )
    .map((m) => {
      const hostPath = recordedHostPath(root, m);
      return {
        project: m.project,
        service: m.service,
        replica: m.replica,
        mountPath: m.mountPath,
        hostPath,
        readOnly: m.readOnly,
        mounted: targets.has(hostPath),
      };
    });
  const where = recordedStoragePath(root, record);
  const present = fs.existsSync(where);
  const image = record.kind !== 'directory' && present;
  // Where hoststore mounts it: each replica's host path, or the staging path shared storage is bound from.
  const mountPoints = [
    ...mounts.filter((m) => m.mounted).map((m) => m.hostPath),
    stagingPath(root, record.kind, record.project, record.name),
  ];
  const state: ItemState =
    record.state === 'creating'
      ? 'creating'
      : !present
        ? 'missing'
        : record.state === 'retained'
          ? 'retained'
          : mounts.some((m) => m.mounted)
            ? 'mounted'
            : 'available';
  return {
    name: record.name,
    kind: record.kind,
    project: record.project,
    stack: record.stack,
    sizeGb: record.sizeGb,
    filesystem: record.filesystem,
    allocatedBytes: record.kind === 'directory' ? undefined : imageStat(where)?.allocatedBytes,
    usage: image ? filesystemUsage(where, record.filesystem, mountPoints, table) : undefined,
    state,
    path: where,
    removalPolicy: record.removalPolicy,
    mounts,
    lease: record.kind === 'disk' ? registry.lease(record.name) : undefined,
    createdAt: record.createdAt,
    retainedAt: record.retainedAt,
  };
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function safeSignature(image: string): Filesystem | undefined {
  try {
    return readFilesystemSignature(image);
  } catch {
    return undefined;
  }
}
