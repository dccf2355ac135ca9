/**
 * The mount handler: makes one storage visible at one replica's host path. Block storage is staged
 * once (one loop device, one mount) and bind-mounted into each replica; a directory volume is bound
 * directly. A Disk's exclusive lease is taken before its first bind and released with its last.
 */
import * as fs from 'node:fs';
import {
  describeZodError,
  directoryPath,
  mountIdentitySchema,
  mountSpecSchema,
  replicaHostPath,
  stagingPath,
  type Filesystem,
  type MountIdentity,
  type MountSpec,
} from '../../src/schema.js';
import { RefusedError, SpecError } from '../errors.js';
import { mountKey, type LeaseRecord, type MountRecord, type StorageRecord } from '../registry/store.js';
import { bindMount, readMountTable, remount, safeMountTarget, unmount } from '../host/mounts.js';
import type { Change, Handler, HandlerContext } from './handler.js';
import { ensureMounted, mountsOfImage, unmountImage } from './block-device.js';
import { loopsFor } from '../host/loop.js';
import { storagePath } from './storage.js';
import { classifyMountedStorage, classifyReadOnly } from '../../src/kinds.js';
import { checkInsideRoot } from '../host/root-trust.js';
import { deletedImageHolds, deletedImageReason, type DeletedImageHold } from './deleted-image.js';
import {
  borrowedMountNote,
  isMountBorrower,
  mountBorrowerChanges,
  nestedMount,
  nestedMountChange,
} from './mount-owner.js';
import { commandHint } from '../command-hint.js';
import { recordStorageEvent, type EventSubject } from '../journal/storage-event.js';

export interface ActualMount {
  readonly record?: MountRecord;
  readonly hostPath: string;
  /** The host path is a mount point showing this storage. */
  readonly mounted: boolean;
  readonly readOnly?: boolean;
  readonly lease?: LeaseRecord;
  /** The host path shows an image that was deleted while mounted: its loop device holds the only copy. */
  readonly deletedHolds?: DeletedImageHold[];
}

function holderOf(identity: Pick<MountIdentity, 'project' | 'service' | 'replica'>): string {
  return `${identity.project}/${identity.service} replica ${identity.replica}`;
}

function sameHolder(lease: LeaseRecord, identity: Pick<MountIdentity, 'project' | 'service' | 'replica'>): boolean {
  return lease.project === identity.project && lease.service === identity.service && lease.replica === identity.replica;
}

/** The storage a mount's events are about: a disk's by its record's project (a disk is one per host). */
function subjectOf(ctx: HandlerContext, identity: MountIdentity & { stack?: string }): EventSubject {
  const project =
    identity.storage_kind === 'disk'
      ? (ctx.registry.storage('disk', identity.project, identity.storage)?.project ?? identity.project)
      : identity.project;
  return { kind: identity.storage_kind, project, storage: identity.storage, stack: identity.stack || ctx.stack };
}

function hostPathOf(identity: MountIdentity): string {
  return replicaHostPath(identity.root, identity.project, identity.service, identity.replica, identity.mount_path);
}

function imageOf(identity: MountIdentity): string {
  return storagePath({
    kind: identity.storage_kind,
    root: identity.root,
    project: identity.project,
    name: identity.storage,
  });
}

/** One instance holds a disk or a non-shared volume, so its filesystem is mounted straight at the host path. */
function isExclusive(ctx: HandlerContext, identity: MountIdentity): boolean {
  if (identity.storage_kind === 'disk') return true;
  if (identity.storage_kind === 'directory') return false;
  return !(ctx.registry.storage(identity.storage_kind, identity.project, identity.storage)?.shared ?? false);
}

/** Where shared storage is seen on the host before binding: its staging mount or its directory. */
function sharedSource(identity: MountIdentity): string {
  return checkInsideRoot(
    identity.root,
    identity.storage_kind === 'directory'
      ? directoryPath(identity.root, identity.project, identity.storage)
      : stagingPath(identity.root, identity.storage_kind, identity.project, identity.storage),
  );
}

/** True when `target` is a mount point showing the same directory as `source` (same device and inode). */
function showsSource(target: string, source: string): boolean {
  try {
    const a = fs.statSync(target);
    const b = fs.statSync(source);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

/** Whether `hostPath` is a mount showing this storage (its loop device, or its shared directory). */
function showsStorage(identity: MountIdentity, hostPath: string): boolean {
  if (identity.storage_kind === 'directory') return showsSource(hostPath, sharedSource(identity));
  return mountsOfImage(imageOf(identity)).some((entry) => entry.target === hostPath);
}

/** A lease is stale when its holder's host path no longer shows the disk (the holder's mount is gone). */
export function leaseIsStale(root: string, lease: LeaseRecord): boolean {
  const image = storagePath({ kind: 'disk', root, project: lease.project, name: lease.disk });
  return !mountsOfImage(image).some((entry) => entry.target === lease.hostPath);
}

export const mountHandler: Handler<MountSpec, MountIdentity, ActualMount> = {
  kind: 'mount',

  validate(input) {
    const result = mountSpecSchema.safeParse(input);
    if (!result.success) throw new SpecError(`mount spec rejected: ${describeZodError(result.error, input)}`);
    return result.data;
  },
  validateIdentity(input) {
    const result = mountIdentitySchema.safeParse(input);
    if (!result.success) throw new SpecError(`mount spec rejected: ${describeZodError(result.error, input)}`);
    return result.data as MountIdentity;
  },
  rootOf: (identity) => identity.root,
  describe: (identity) => `${identity.storage} -> ${identity.service}[${identity.replica}]:${identity.mount_path}`,

  read(ctx, identity) {
    const record = ctx.registry.get<MountRecord>(
      'mounts',
      mountKey(identity.project, identity.service, identity.replica, identity.mount_path),
    );
    const hostPath = hostPathOf(identity);
    const entry = [...readMountTable()].reverse().find((e) => e.target === hostPath);
    const mounted = entry !== undefined && showsStorage(identity, hostPath);
    const lease = identity.storage_kind === 'disk' ? ctx.registry.lease(identity.storage) : undefined;
    if (!record && !entry) return undefined;
    // Only a mount that shows something else can be a deleted image's: look for one then (a /sys scan).
    const holds =
      entry && !mounted && identity.storage_kind !== 'directory' ? deletedImageHolds(imageOf(identity)) : [];
    return {
      record,
      hostPath,
      mounted,
      readOnly: entry?.readOnly,
      lease,
      ...(holds.length ? { deletedHolds: holds } : {}),
    };
  },

  diff(ctx, spec, actual) {
    const storage = ctx.registry.storage(spec.storage_kind, spec.project, spec.storage);
    const what = `${spec.storage_kind} ${spec.storage}`;
    const changes: Change[] = [];
    // The place recorded with other storage: as under Terraform, the old mount goes, then this one.
    const replaced =
      actual?.record &&
      classifyMountedStorage(
        `${actual.record.storageKind} ${actual.record.storage}`,
        `${spec.storage_kind} ${spec.storage}`,
      );
    if (!storage || storage.state === 'creating') {
      changes.push({
        field: 'storage',
        kind: 'refused',
        safety: 'refused',
        reason: `${what} does not exist on this host; declare it (or deploy its stack) before mounting it`,
      });
      // A plan that creates the storage first drops the refusal above and keeps the replace.
      return { action: actual ? 'update' : 'create', changes: replaced ? [...changes, replaced] : changes };
    }
    if (actual?.deletedHolds) {
      changes.push({
        field: 'mount',
        from: actual.hostPath,
        kind: 'drift',
        safety: 'refused',
        reason: deletedImageReason(what, imageOf(spec), actual.deletedHolds, spec.root),
      });
      return { action: 'update', changes };
    }
    // Another stack of this project has this mount point: the same Mount borrows it, anything else is refused.
    const borrowed = isMountBorrower(actual?.record, spec.stack) ? actual!.record! : undefined;
    if (borrowed) {
      const refused = mountBorrowerChanges(spec, borrowed, actual!.hostPath);
      if (refused.length) return { action: 'update', changes: [...refused, borrowedMountNote(borrowed)] };
    }
    const nested = nestedMount(ctx.registry.mounts(), spec);
    if (nested) changes.push(nestedMountChange(spec, nested));
    const lease = spec.storage_kind === 'disk' ? ctx.registry.lease(spec.storage) : undefined;
    if (lease && !sameHolder(lease, spec)) {
      const stale = leaseIsStale(spec.root, lease);
      changes.push({
        field: 'lease',
        from: holderOf(lease),
        to: holderOf(spec),
        kind: 'refused',
        safety: 'refused',
        reason: `disk ${spec.storage} is leased by ${holderOf(lease)} since ${lease.since}${stale ? ` (stale: its mount at ${lease.hostPath} is gone; break it with \`${commandHint(spec.root, `lease break ${spec.storage}`)}\`)` : ''}; a disk is mounted by one instance at a time: use one disk per instance`,
      });
    }
    if (!actual) {
      changes.push({
        field: 'mount',
        to: `${hostPathOf(spec)}${spec.read_only ? ' (read-only)' : ''}`,
        kind: 'create',
        safety: 'safe',
      });
      return { action: 'create', changes };
    }
    if (replaced) return { action: 'update', changes: [...changes, replaced] };
    if (!actual.mounted)
      changes.push({
        field: 'mount',
        to: actual.hostPath,
        kind: actual.record ? 'repair' : 'create',
        safety: 'safe',
        reason: actual.record ? 'mount missing: remount' : undefined,
      });
    else {
      const remount = classifyReadOnly(String(actual.readOnly), String(spec.read_only));
      if (remount) changes.push(remount);
    }
    if (spec.storage_kind === 'disk' && !lease)
      changes.push({ field: 'lease', to: holderOf(spec), kind: 'setting', safety: 'safe' });
    return {
      action: changes.length ? 'update' : 'none',
      changes: borrowed ? [...changes, borrowedMountNote(borrowed)] : changes,
    };
  },

  async create(ctx, spec) {
    await attach(ctx, spec, undefined);
  },

  async update(ctx, spec, actual, diff) {
    const replaced = actual.record && diff.changes.some((c) => c.kind === 'replace') ? actual.record : undefined;
    if (replaced) {
      // Unmount the storage recorded here (releasing its lease, detaching it when unused) before mounting the new.
      await mountHandler.delete({ ...ctx, stack: undefined }, mountIdentityOfRecord(spec.root, replaced));
      await attach(ctx, spec, undefined);
      return;
    }
    await attach(ctx, spec, actual);
  },

  async delete(ctx, identity) {
    const key = mountKey(identity.project, identity.service, identity.replica, identity.mount_path);
    const hostPath = hostPathOf(identity);
    const record = ctx.registry.get<MountRecord>('mounts', key);
    if (isMountBorrower(record, ctx.stack)) {
      ctx.log(
        `${identity.storage}: the mount at ${hostPath} is stack ${record.stack}'s (project ${record.project}); stack ${ctx.stack} only borrowed it, so it stays mounted`,
      );
      return;
    }
    const holder = record as MountRecord | undefined;
    if (holder && (holder.storage !== identity.storage || holder.storageKind !== identity.storage_kind)) {
      // A renamed storage's old Mount: the converge, which Terraform may run before this delete, has
      // already unmounted it and mounted the new storage here. That mount is not this delete's.
      ctx.log(
        `${identity.storage}: not mounted at ${hostPath} any more (it is now ${holder.storageKind} ${holder.storage}'s); nothing to unmount`,
      );
      return;
    }
    if (identity.storage_kind !== 'directory' && readMountTable().some((e) => e.target === hostPath)) {
      const holds = deletedImageHolds(imageOf(identity)).filter((h) => h.targets.includes(hostPath));
      if (holds.length > 0)
        throw new RefusedError(
          deletedImageReason(`${identity.storage_kind} ${identity.storage}`, imageOf(identity), holds, identity.root),
        );
    }
    while (readMountTable().some((e) => e.target === hostPath)) await unmount(hostPath);
    ctx.registry.remove('mounts', key);
    const recorded = record as MountRecord | undefined;
    const subject = subjectOf(ctx, { ...identity, stack: recorded?.stack });
    if (recorded)
      recordStorageEvent(ctx, subject, 'unmounted', `unmounted from ${holderOf(identity)} at ${hostPath}`, {
        service: identity.service,
        replica: identity.replica,
        readOnly: recorded.readOnly,
        hostPath,
      });
    if (identity.storage_kind === 'disk') {
      const lease = ctx.registry.lease(identity.storage);
      if (lease && sameHolder(lease, identity)) {
        ctx.registry.remove('leases', identity.storage);
        recordStorageEvent(ctx, subject, 'lease-released', `lease released by ${holderOf(identity)}`, {
          service: identity.service,
          replica: identity.replica,
        });
      }
    }
    await unmountIfUnused(ctx, identity);
    ctx.log(`${identity.storage}: unmounted from ${holderOf(identity)} at ${hostPath}`);
  },
};

async function attach(ctx: HandlerContext, spec: MountSpec, actual: ActualMount | undefined): Promise<void> {
  const storage = ctx.registry.storage(spec.storage_kind, spec.project, spec.storage) as StorageRecord;
  const hostPath = hostPathOf(spec);
  const image = imageOf(spec);
  const exclusive = isExclusive(ctx, spec);
  const now = ctx.now().toISOString();
  // The image's loop devices, looked up once (a scan of every loop device) for the checks and the mount.
  const loops = spec.storage_kind === 'directory' ? [] : loopsFor(image);
  const mountedBefore = spec.storage_kind === 'directory' ? 0 : mountsOfImage(image, readMountTable(), loops).length;
  const tookLease = spec.storage_kind === 'disk' && !ctx.registry.lease(spec.storage);
  try {
    if (tookLease) {
      ctx.registry.put<LeaseRecord>('leases', spec.storage, {
        disk: spec.storage,
        project: spec.project,
        service: spec.service,
        replica: spec.replica,
        hostPath,
        since: now,
      });
    }
    if (actual?.mounted) {
      await remount(hostPath, { readOnly: spec.read_only, bind: !exclusive });
    } else {
      // A mount that is there but shows something else (or a stale bind) is taken down first.
      while (readMountTable().some((e) => e.target === hostPath)) await unmount(hostPath);
      if (exclusive) {
        await ensureMounted(spec.root, hostPath, image, storage.filesystem as Filesystem, spec.read_only, loops);
      } else {
        if (spec.storage_kind !== 'directory')
          await ensureMounted(spec.root, sharedSource(spec), image, storage.filesystem as Filesystem, false, loops);
        await safeMountTarget(spec.root, hostPath);
        await bindMount(sharedSource(spec), hostPath, { readOnly: spec.read_only });
      }
    }
  } catch (error) {
    if (!actual?.record) {
      const lease = ctx.registry.lease(spec.storage);
      if (lease && sameHolder(lease, spec)) ctx.registry.remove('leases', spec.storage);
    }
    // Nothing of this image was mounted before this step (also on `hoststore up`, where the mount is
    // recorded): undo what it mounted and attached, so no stale loop device is reused later.
    if (mountedBefore === 0 && spec.storage_kind !== 'directory') await unmountImage(image).catch(() => undefined);
    throw error;
  }
  ctx.registry.put<MountRecord>('mounts', mountKey(spec.project, spec.service, spec.replica, spec.mount_path), {
    project: spec.project,
    stack: actual?.record?.stack ?? spec.stack,
    storageKind: spec.storage_kind,
    storage: spec.storage,
    service: spec.service,
    replica: spec.replica,
    mountPath: spec.mount_path,
    hostPath,
    readOnly: spec.read_only,
    createdAt: actual?.record?.createdAt ?? now,
    updatedAt: now,
  });
  // Recorded once it is there: a mount that failed was undone above and is not in the history.
  const subject = subjectOf(ctx, spec);
  const detail = { service: spec.service, replica: spec.replica, readOnly: spec.read_only, hostPath };
  if (tookLease) recordStorageEvent(ctx, subject, 'lease-taken', `lease taken by ${holderOf(spec)}`, detail);
  if (!actual?.mounted)
    recordStorageEvent(
      ctx,
      subject,
      'mounted',
      `mounted for ${holderOf(spec)} at ${hostPath}${spec.read_only ? ' (read-only)' : ''}`,
      detail,
    );
  else if (actual.readOnly !== spec.read_only)
    recordStorageEvent(
      ctx,
      subject,
      'changed',
      `remounted ${spec.read_only ? 'read-only' : 'read-write'} for ${holderOf(spec)} at ${hostPath}`,
      detail,
    );
  ctx.log(`${spec.storage}: mounted for ${holderOf(spec)} at ${hostPath}${spec.read_only ? ' (read-only)' : ''}`);
}

/** With its last mount gone, block storage is unmounted everywhere (staging too) and its loop device detached. */
async function unmountIfUnused(ctx: HandlerContext, identity: MountIdentity): Promise<void> {
  if (identity.storage_kind === 'directory') return;
  if (ctx.registry.mountsOf(identity.storage_kind, identity.project, identity.storage).length > 0) return;
  await unmountImage(imageOf(identity));
}

/** The identity of a mount the registry records (what a delete of it takes). */
export function mountIdentityOfRecord(root: string, m: MountRecord): MountIdentity {
  return {
    root,
    project: m.project,
    storage: m.storage,
    storage_kind: m.storageKind,
    service: m.service,
    replica: m.replica,
    mount_path: m.mountPath,
  };
}

/** The spec that converges a recorded mount again (after a reboot, or a restore that unmounted it). */
export function mountSpecFromRecord(root: string, m: MountRecord): MountSpec {
  return mountHandler.validate({
    root,
    project: m.project,
    stack: m.stack,
    storage: m.storage,
    storage_kind: m.storageKind,
    service: m.service,
    replica: String(m.replica),
    mount_path: m.mountPath,
    read_only: String(m.readOnly),
    host_path: replicaHostPath(root, m.project, m.service, m.replica, m.mountPath),
  });
}
