/**
 * The storage handler: volumes, directory volumes and disks. Converges a spec onto the host: creates
 * (sparse image + mkfs, or a directory), adopts an existing disk by name, grows in place, and refuses
 * anything that would lose data (shrink, filesystem change, a vanished or truncated image).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  describeZodError,
  directoryPath,
  imagePath,
  storageIdentitySchema,
  storageSpecSchema,
  storageDirectory,
  type Filesystem,
  type StorageIdentity,
  type StorageSpec,
} from '../../src/schema.js';
import { HoststoreError, RefusedError, SpecError } from '../errors.js';
import { growMarkerPath } from '../../src/interrupted-grow.js';
import { classifyFilesystem, classifyRemovalPolicy, classifySize } from '../../src/kinds.js';
import type { StorageRecord } from '../registry/store.js';
import { inspectImage, readFilesystemSignature } from '../host/fs-signature.js';
import { assertAllowed, type Change, type Diff, type Handler, type HandlerContext } from './handler.js';
import * as block from './block-device.js';
import { replaceFileAtomically, syncDirectory } from '../host/files.js';
import { checkInsideRoot, imageTrustProblem, makeRootDirectory } from '../host/root-trust.js';
import { borrowedNote, borrowerChanges, isBorrower, releaseBorrowed } from './storage-owner.js';
import { holdersOf } from '../host/holders.js';
import { deletedImageHolds, deletedImageReason, type DeletedImageHold } from './deleted-image.js';
import { removeTree } from '../host/remove-tree.js';
import { commandHint } from '../command-hint.js';
import { LATEST_BACKUP } from '../../src/backup-spec.js';
import { REPOSITORIES, repositoryKey, repositoryRecord, type RepositoryRecord } from '../backup/records.js';
import type { BackupEntry } from '../backup/backups.js';
import { describeBackup, describeRepository, lookUpBackupSync, type BackupTarget } from './backup-source.js';
import { recordRefusal, recordStorageEvent, subjectOfRecord, type EventSubject } from '../journal/storage-event.js';

const GiB = 1024 ** 3;

export interface ActualStorage {
  readonly record?: StorageRecord;
  /** Image file or directory present on the host. */
  readonly present: boolean;
  readonly path: string;
  readonly sizeBytes?: number;
  readonly allocatedBytes?: number;
  readonly filesystem?: Filesystem;
  /** Why the image found at `path` is not root's alone (only an image without a live record is judged). */
  readonly untrusted?: string;
  /** The image is gone but a loop device still holds (and mounts) the deleted file: the data lives there. */
  readonly deletedHolds?: DeletedImageHold[];
}

/** The storage's path by the layout, checked to stay under the root with no symlink on the way. */
export function storagePath(identity: Pick<StorageIdentity, 'kind' | 'root' | 'project' | 'name'>): string {
  return checkInsideRoot(
    identity.root,
    identity.kind === 'directory'
      ? directoryPath(identity.root, identity.project, identity.name)
      : imagePath(identity.root, identity.kind, identity.project, identity.name),
  );
}

function parse<T>(
  schema: { safeParse(input: unknown): { success: true; data: T } | { success: false; error: import('zod').ZodError } },
  input: unknown,
  what: string,
): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new SpecError(`${what} spec rejected: ${describeZodError(result.error, input)}`);
  return result.data;
}

export const storageHandler: Handler<StorageSpec, StorageIdentity, ActualStorage> = {
  kind: 'storage',

  validate: (input) => parse(storageSpecSchema, input, 'storage'),
  validateIdentity: (input) => parse(storageIdentitySchema, input, 'storage'),
  rootOf: (identity) => identity.root,
  describe: (identity) => `${identity.kind} ${identity.name}`,

  read(ctx, identity) {
    const record = ctx.registry.storage(identity.kind, identity.project, identity.name);
    const where = storagePath(identity);
    if (identity.kind === 'directory') {
      let stat: fs.Stats | undefined;
      try {
        stat = fs.lstatSync(where);
      } catch {
        stat = undefined;
      }
      if (!record && !stat) return undefined;
      return { record, present: stat?.isDirectory() ?? false, path: where };
    }
    const image = inspectImage(where, record?.filesystem);
    if (!record && !image) return undefined;
    // An image hoststore did not make (or retained and left) is mounted as root once adopted: judge it.
    const untrusted = image && (!record || record.state === 'retained') ? imageTrustProblem(image.stat) : undefined;
    if (!image || !image.stat.isFile()) {
      const holds = deletedImageHolds(where);
      return { record, present: false, path: where, untrusted, ...(holds.length ? { deletedHolds: holds } : {}) };
    }
    return {
      record,
      present: true,
      path: where,
      untrusted,
      sizeBytes: image.stat.size,
      allocatedBytes: image.stat.blocks * 512,
      filesystem: image.filesystem,
    };
  },

  diff(ctx, spec, actual) {
    const what = `${spec.kind} ${spec.name}`;
    const wanted = spec.size_gb;
    if (!actual || actual.record?.state === 'creating') {
      if (spec.kind === 'disk' && wanted === undefined && !spec.from_snapshot && !spec.from_backup) {
        return refusedDiff(
          'create',
          'image',
          `${what} does not exist on this host and has no sizeGb: give sizeGb to create it, or create the disk first`,
        );
      }
      if (spec.from_backup) return fromBackupDiff(ctx, spec as StorageSpec & Pick<BackupTarget, 'from_backup'>);
      return {
        action: 'create',
        changes: [
          {
            field: 'image',
            to: spec.from_snapshot ? `copy of snapshot ${spec.from_snapshot}` : describe(spec),
            kind: 'create',
            safety: 'safe',
          },
        ],
      };
    }
    const record = actual.record;
    if (actual.untrusted) {
      return refusedDiff(
        'adopt',
        'image',
        `${what}: refusing to adopt ${actual.path}: it ${actual.untrusted}; hoststore mounts what it adopts as root, so it adopts only an image that is root's alone. Check its content, then: chown root:root ${actual.path} && chmod 600 ${actual.path} (a copy if it has other links)`,
      );
    }
    if (record?.restoring) {
      const { snapshot, phase } = record.restoring;
      return {
        action: 'update',
        changes: [
          {
            field: 'image',
            kind: 'repair',
            safety: 'safe',
            reason: `finish an interrupted in-place restore from snapshot ${snapshot} (${phase === 'copying' ? 'discard its partial copy; the content stays as it was' : 'swap in its finished copy'})`,
          },
        ],
      };
    }
    if (!actual.present && actual.deletedHolds) {
      return refusedDiff(
        'update',
        'image',
        deletedImageReason(what, actual.path, actual.deletedHolds, spec.root),
        'refused',
        'drift',
      );
    }
    if (!actual.present) {
      return refusedDiff(
        'update',
        'image',
        `${what}: ${actual.path} is missing (deleted behind hoststore's back); recreating it would make an empty ${spec.kind}. Restore the file, or delete the record with \`${commandHint(spec.root, `delete ${spec.name} --yes`)}\` to start empty`,
        'data-loss',
        'drift',
      );
    }
    if (spec.kind === 'directory') {
      if (isBorrower(record, spec.project, spec.stack)) {
        const refused = borrowerChanges(spec, record!, 0);
        return { action: refused.length ? 'update' : 'none', changes: [...refused, borrowedNote(record!)] };
      }
      const changes = recordChanges(spec, record);
      return {
        action: record && record.state !== 'retained' ? (changes.length ? 'update' : 'none') : 'adopt',
        changes,
      };
    }
    const changes: Change[] = [];
    const adopting = !record || record.state === 'retained';
    if (actual.filesystem === undefined) {
      return refusedDiff(
        'update',
        'filesystem',
        `${what}: ${actual.path} holds no ext4, xfs or btrfs filesystem; hoststore will not format a file it did not make`,
      );
    }
    const reformat = classifyFilesystem(actual.filesystem, spec.filesystem, spec);
    if (reformat) changes.push(reformat);
    const currentGb = record?.growingToGb ?? record?.sizeGb ?? Math.floor((actual.sizeBytes ?? 0) / GiB);
    if (record && record.sizeGb !== undefined && (actual.sizeBytes ?? 0) < record.sizeGb * GiB) {
      changes.push({
        field: 'image',
        from: `${record.sizeGb} GB`,
        to: `${actual.sizeBytes} bytes`,
        kind: 'drift',
        safety: 'refused',
        reason: `${what}: ${actual.path} is smaller (${actual.sizeBytes} bytes) than its ${record.sizeGb} GB filesystem: it was truncated behind hoststore's back and its data is damaged. Restore it from a snapshot or backup`,
      });
    }
    // Storage another project or stack created is borrowed: nothing of it is ours to change.
    if (isBorrower(record, spec.project, spec.stack)) {
      changes.push(...borrowerChanges(spec, record!, currentGb));
      return { action: changes.length ? 'update' : 'none', changes: [...changes, borrowedNote(record!)] };
    }
    // The table classifies the size change; the host says whether the filesystem is mounted meanwhile.
    const mounted = wanted !== undefined && wanted > currentGb ? block.mountsOfImage(actual.path) : [];
    const sized =
      wanted === undefined || (record?.growingToGb !== undefined && wanted <= currentGb)
        ? undefined
        : classifySize(
            String(currentGb),
            String(wanted),
            spec,
            { mounted: mounted.length > 0, filesystem: actual.filesystem },
            adopting,
          );
    // A downtime grow unmounts ext4 for a moment: refused while something holds the mount.
    const holders = sized?.safety === 'downtime' ? holdersOf(mounted[0].target) : [];
    if (sized && holders.length > 0) {
      changes.push({
        ...sized,
        kind: 'refused',
        safety: 'refused',
        reason: block.busyReason(
          what,
          mounted.map((m) => m.target),
          holders,
        ),
      });
    } else if (sized && sized.kind !== 'kept') {
      changes.push(sized);
    } else if (record?.growingToGb !== undefined) {
      changes.push({
        field: 'size_gb',
        from: String(record.sizeGb),
        to: String(record.growingToGb),
        kind: 'repair',
        safety: 'safe',
        reason: 'finish an interrupted grow',
      });
    }
    changes.push(...recordChanges(spec, record));
    // A disk's given size only creates it: a smaller one on an existing disk is ignored (said, not done).
    const notes: Change[] = sized?.kind === 'kept' ? [sized] : [];
    return { action: adopting ? 'adopt' : changes.length ? 'update' : 'none', changes: [...changes, ...notes] };
  },

  async create(ctx, spec) {
    const where = storagePath(spec);
    const previous = ctx.registry.storage(spec.kind, spec.project, spec.name);
    if (previous?.state === 'creating') {
      // An earlier create was killed before it finished: the file was never mounted, so holds no data.
      await block.detachAll(where);
      fs.rmSync(where, { recursive: true, force: true });
      removePartialRestores(where);
      ctx.log(`${spec.kind} ${spec.name}: cleaned up an interrupted create`);
    }
    if (spec.from_snapshot) {
      await createFromSnapshot(ctx, spec, where);
      return;
    }
    let empty: string | undefined;
    if (spec.from_backup) {
      empty = await createFromBackup(ctx, spec as StorageSpec & Pick<BackupTarget, 'from_backup'>, where);
      if (empty === undefined) return;
    }
    if (spec.kind !== 'directory') await block.requireFormatter(spec.filesystem as Filesystem);
    const now = ctx.now().toISOString();
    ctx.registry.putStorage(newRecord(spec, where, 'creating', now));
    try {
      makeRootDirectory(spec.root, storageDirectory(spec.root, spec.kind, spec.project));
      if (spec.kind === 'directory') {
        fs.mkdirSync(where, { mode: 0o755 });
      } else {
        await block.createFormattedImage(
          where,
          (spec.size_gb as number) * GiB,
          spec.filesystem as Filesystem,
          spec.name,
        );
      }
    } catch (error) {
      fs.rmSync(where, { recursive: true, force: true });
      ctx.registry.removeStorage(spec.kind, spec.project, spec.name);
      throw error;
    }
    ctx.registry.putStorage(newRecord(spec, where, 'ready', now));
    recordStorageEvent(
      ctx,
      subjectOfSpec(spec),
      'created',
      `created ${empty ? 'empty ' : ''}${describe(spec)}${empty ? ` (${empty})` : ''}`,
      { sizeGb: spec.size_gb, filesystem: spec.kind === 'directory' ? undefined : spec.filesystem },
    );
    ctx.log(
      `${spec.kind} ${spec.name}: ${empty ? `${empty}: ` : ''}created ${empty ? 'empty ' : ''}${describe(spec)} at ${where}`,
    );
  },

  async update(ctx, spec, actual, diff) {
    if (actual.record?.restoring) {
      // Settle the restore first, then converge whatever else the spec asks of what it left.
      const { finishInterruptedRestore } = await import('../snapshots/restore-in-place.js');
      await finishInterruptedRestore(ctx, actual.record);
      const settled = storageHandler.read(ctx, spec);
      const next = settled && storageHandler.diff(ctx, spec, settled);
      if (!settled || !next || next.action === 'none') return;
      assertAllowed(ctx, storageHandler.describe(spec), spec.name, next, subjectOfSpec(spec));
      await storageHandler.update(ctx, spec, settled, next);
      return;
    }
    const now = ctx.now().toISOString();
    let record: StorageRecord = actual.record
      ? { ...actual.record, state: 'ready', retainedAt: undefined, updatedAt: now }
      : {
          ...newRecord(spec, actual.path, 'ready', now),
          sizeGb: actual.sizeBytes !== undefined ? Math.floor(actual.sizeBytes / GiB) : undefined,
          filesystem: actual.filesystem,
        };
    if (diff.action === 'adopt') {
      recordStorageEvent(
        ctx,
        subjectOfSpec(spec),
        'adopted',
        `adopted the existing ${spec.kind} at ${actual.path}${actual.record ? ' (was retained)' : ''}`,
        { sizeGb: record.sizeGb, filesystem: record.filesystem, wasRetained: actual.record !== undefined },
      );
      ctx.log(
        `${spec.kind} ${spec.name}: adopted the existing ${spec.kind} at ${actual.path}${actual.record ? ' (was retained)' : ''}`,
      );
      if (spec.size_gb !== undefined && record.sizeGb !== undefined && spec.size_gb < record.sizeGb) {
        ctx.log(
          `${spec.kind} ${spec.name}: keeps its ${record.sizeGb} GB; sizeGb ${spec.size_gb} is ignored for an existing ${spec.kind} (never shrunk)`,
        );
      }
    }
    const grow = diff.changes.find(
      (c) => c.field === 'size_gb' && (c.safety === 'safe' || c.safety === 'downtime') && Number(c.to) > Number(c.from),
    );
    if (grow) {
      const targetGb = Number(grow.to);
      const unfinished = record.growingToGb;
      // The marker first (Terraform checks it at plan time), then the record; removed in reverse order.
      writeGrowMarker(spec, targetGb);
      record = { ...record, growingToGb: targetGb };
      ctx.registry.putStorage(record);
      let report: block.GrowReport;
      try {
        report = await block.growStorage(ctx, spec, actual.path, targetGb * GiB);
      } catch (error) {
        // Refused before anything changed (the mount is held): the record is as it was (an earlier,
        // interrupted grow stays recorded so the next run still finishes it).
        if (error instanceof RefusedError) ctx.registry.putStorage({ ...record, growingToGb: unfinished });
        // A grow that failed (rather than died) is retried by the next converge (Terraform replaces the
        // tainted carrier); the marker is only for a process that never got here.
        removeGrowMarker(spec);
        throw error;
      }
      record = { ...record, sizeGb: targetGb, growingToGb: undefined };
      // Recorded once the record says so: a grow that failed is not in the history as done.
      ctx.registry.putStorage(record);
      recordStorageEvent(
        ctx,
        subjectOfSpec(spec),
        'grown',
        `grown from ${grow.from} GB to ${targetGb} GB ${report.online ? 'online' : 'offline'} (downtime ${report.downtimeMs} ms)`,
        { fromGb: Number(grow.from), toGb: targetGb, online: report.online, downtimeMs: report.downtimeMs },
      );
      ctx.log(`${spec.kind} ${spec.name}: grew from ${grow.from} GB to ${targetGb} GB ${report.text}`);
    }
    ctx.registry.putStorage({
      ...record,
      project: spec.project,
      stack: spec.stack,
      shared: spec.shared,
      removalPolicy: spec.removal_policy,
    });
    const settings =
      diff.action === 'adopt' ? [] : diff.changes.filter((c) => c.kind === 'setting' || c.field === 'removal_policy');
    if (settings.length > 0)
      recordStorageEvent(
        ctx,
        subjectOfSpec(spec),
        'changed',
        `changed ${settings.map((c) => `${c.field} from ${c.from ?? '-'} to ${c.to ?? '-'}`).join(', ')}`,
        Object.fromEntries(settings.map((c) => [c.field, c.to ?? ''])),
      );
    if (spec.kind !== 'directory') removeGrowMarker(spec);
  },

  async delete(ctx, identity) {
    const record = ctx.registry.storage(identity.kind, identity.project, identity.name);
    const where = storagePath(identity);
    const what = `${identity.kind} ${identity.name}`;
    if (!record) {
      ctx.log(`${what}: not managed by hoststore here; nothing to delete`);
      return;
    }
    if (isBorrower(record, identity.project, ctx.stack)) {
      await releaseBorrowed(ctx, identity, record, ctx.stack);
      return;
    }
    const mounts = ctx.registry.mountsOf(identity.kind, identity.project, identity.name);
    const subject: EventSubject = { ...subjectOfRecord(record), stack: ctx.stack ?? (record.stack || undefined) };
    const refuse = (reason: string) => {
      recordRefusal(ctx, subject, reason);
      return new RefusedError(reason);
    };
    if (record.removalPolicy === 'destroy') {
      if (mounts.length > 0) {
        const users = mounts.map((m) => `${m.project}/${m.service} replica ${m.replica} at ${m.hostPath}`).join(', ');
        throw refuse(`${what}: refusing to delete while mounted by ${users}; remove those Mounts first`);
      }
      await block.unmountImage(where);
      await removeTree(where);
      ctx.registry.removeStorage(identity.kind, identity.project, identity.name);
      recordStorageEvent(ctx, subject, 'deleted', `deleted with its data (removalPolicy 'destroy')`, {
        removalPolicy: 'destroy',
      });
      ctx.log(`${what}: deleted ${where} (removalPolicy 'destroy')`);
      return;
    }
    if (record.removalPolicy === 'snapshot') {
      if (mounts.length > 0)
        throw refuse(
          `${what}: refusing to snapshot and delete while mounted by ${mounts.map((m) => `${m.project}/${m.service} replica ${m.replica}`).join(', ')}; remove those Mounts first`,
        );
      await block.unmountImage(where);
      const { takeSnapshot, verifySnapshot } = await import('../snapshots/snapshots.js');
      const final = { ...(await takeSnapshot(ctx, record, 'final')), final: true };
      ctx.registry.put('snapshots', final.id, final);
      if (!(await verifySnapshot(final, ctx)))
        throw new HoststoreError(
          `${what}: the final snapshot ${final.id} does not verify; the ${identity.kind} was kept`,
        );
      await removeTree(where);
      ctx.registry.removeStorage(identity.kind, identity.project, identity.name);
      recordStorageEvent(
        ctx,
        subject,
        'deleted',
        `deleted after final snapshot ${final.id} (removalPolicy 'snapshot')`,
        {
          removalPolicy: 'snapshot',
          snapshot: final.id,
        },
      );
      ctx.log(
        `${what}: deleted after final snapshot ${final.id} (removalPolicy 'snapshot'); get it back with \`${commandHint(ctx.root, `snapshot restore ${final.id} --to ${identity.name}`)}\``,
      );
      return;
    }
    await retainStorage(ctx, identity, record, "removalPolicy 'retain'");
  },
};

/**
 * Marks storage retained, its data kept where it is (unmounted when nothing mounts it): the next project
 * that declares it adopts it. `because` says why, in its event and line ("removalPolicy 'retain'").
 */
export async function retainStorage(
  ctx: HandlerContext,
  identity: StorageIdentity,
  record: StorageRecord,
  because: string,
): Promise<void> {
  const where = storagePath(identity);
  const what = `${identity.kind} ${identity.name}`;
  const mounts = ctx.registry.mountsOf(identity.kind, identity.project, identity.name);
  const subject: EventSubject = { ...subjectOfRecord(record), stack: ctx.stack ?? (record.stack || undefined) };
  if (mounts.length === 0) await block.unmountImage(where);
  // A lease is held by a mount; one whose holder has no mount record (a crash between taking the lease
  // and recording the mount) would keep the retained disk from its next user.
  const lease = identity.kind === 'disk' ? ctx.registry.lease(identity.name) : undefined;
  if (
    lease &&
    !mounts.some((m) => m.project === lease.project && m.service === lease.service && m.replica === lease.replica)
  ) {
    ctx.registry.remove('leases', identity.name);
    recordStorageEvent(
      ctx,
      subject,
      'lease-released',
      `lease of ${lease.project}/${lease.service} replica ${lease.replica} released (its holder has no mount)`,
      { service: lease.service, replica: lease.replica },
    );
    ctx.log(`${what}: released the lease of ${lease.project}/${lease.service} replica ${lease.replica}`);
  }
  const now = ctx.now().toISOString();
  ctx.registry.putStorage({ ...record, state: 'retained', retainedAt: now, updatedAt: now });
  recordStorageEvent(ctx, subject, 'retained', `retained with its data at ${where} (${because})`, {
    removalPolicy: record.removalPolicy,
  });
  ctx.log(
    `${what}: retained at ${where} (${because}); delete it with \`${commandHint(ctx.root, `delete ${identity.name}`)}\``,
  );
}

/** Creates the storage as a copy of a snapshot (verified first), grown to sizeGb when that is larger. */
async function createFromSnapshot(ctx: HandlerContext, spec: StorageSpec, where: string): Promise<void> {
  const { getSnapshot, restoreCopy, verifySnapshot } = await import('../snapshots/snapshots.js');
  const what = `${spec.kind} ${spec.name}`;
  const snapshot = getSnapshot(ctx, spec.from_snapshot);
  if ((snapshot.kind === 'directory') !== (spec.kind === 'directory')) {
    throw new RefusedError(
      `${what}: fromSnapshot '${snapshot.id}' is a snapshot of a ${snapshot.kind}, which cannot become a ${spec.kind}`,
    );
  }
  if (!(await verifySnapshot(snapshot, ctx)))
    throw new RefusedError(
      `${what}: snapshot '${snapshot.id}' no longer matches its checksum; refusing to restore from it`,
    );
  await createAsCopy(ctx, spec, where, `snapshot '${snapshot.id}'`, () => restoreCopy(snapshot, where, spec.root));
  recordStorageEvent(
    ctx,
    subjectOfSpec(spec),
    'created',
    `created from snapshot ${snapshot.id} of ${snapshot.kind} ${snapshot.storage}`,
    { fromSnapshot: snapshot.id, sizeGb: ctx.registry.storage(spec.kind, spec.project, spec.name)?.sizeGb },
  );
  ctx.log(`${what}: created from snapshot ${snapshot.id} at ${where}`);
}

/**
 * Creates the storage as a copy made by `copy` (a snapshot's or a backup's, written at `where`): recorded as
 * being created first, checked to hold the spec's filesystem, grown to sizeGb when that is larger; on any
 * failure the copy and its record are removed.
 */
async function createAsCopy(
  ctx: HandlerContext,
  spec: StorageSpec,
  where: string,
  source: string,
  copy: () => Promise<void>,
): Promise<void> {
  const now = ctx.now().toISOString();
  ctx.registry.putStorage(newRecord(spec, where, 'creating', now));
  try {
    makeRootDirectory(spec.root, storageDirectory(spec.root, spec.kind, spec.project));
    await copy();
    const found = spec.kind === 'directory' ? undefined : readFilesystemSignature(where);
    if (spec.kind !== 'directory' && found !== spec.filesystem) {
      throw new RefusedError(
        `${spec.kind} ${spec.name}: ${source} holds ${found ?? 'no known filesystem'}, not ${spec.filesystem}`,
      );
    }
    const imageGb = spec.kind === 'directory' ? undefined : Math.floor(fs.statSync(where).size / GiB);
    ctx.registry.putStorage({ ...newRecord(spec, where, 'ready', now), sizeGb: imageGb });
    if (spec.size_gb !== undefined && imageGb !== undefined && spec.size_gb > imageGb) {
      await block.growStorage(ctx, spec, where, spec.size_gb * GiB);
      ctx.registry.putStorage({ ...newRecord(spec, where, 'ready', now), sizeGb: spec.size_gb });
    }
  } catch (error) {
    fs.rmSync(where, { recursive: true, force: true });
    ctx.registry.removeStorage(spec.kind, spec.project, spec.name);
    throw error;
  }
}

/**
 * The create of storage with `fromBackup`: the backup it restores (or, when the repository has none of this
 * storage yet, an empty one, said in the plan), or a refusal when the repository cannot be read.
 */
function fromBackupDiff(ctx: HandlerContext, spec: StorageSpec & Pick<BackupTarget, 'from_backup'>): Diff {
  const what = `${spec.kind} ${spec.name}`;
  const source = lookUpBackupSync(ctx, spec);
  if (source.state === 'refused') return refusedDiff('create', 'image', source.reason);
  if (source.state === 'found') {
    const problem = backupKindProblem(spec, source.entry);
    if (problem) return refusedDiff('create', 'image', problem);
    return {
      action: 'create',
      changes: [
        { field: 'image', to: describeBackup(source.entry, source.repository), kind: 'create', safety: 'safe' },
      ],
    };
  }
  const latest = spec.from_backup.snapshot === LATEST_BACKUP;
  if (!latest) return refusedDiff('create', 'image', missingBackup(spec, source.repository));
  if (spec.kind === 'disk' && spec.size_gb === undefined)
    return refusedDiff(
      'create',
      'image',
      `no backup of ${what} in repository ${describeRepository(source.repository)} yet, and no sizeGb to create it empty: give sizeGb, or push a backup of it first`,
    );
  return {
    action: 'create',
    changes: [
      {
        field: 'image',
        to: `${describe(spec)}, empty: ${source.noRepository ? `no repository at ${source.repository.url} yet (the first push makes it)` : `no backup of ${what} in ${source.repository.name} yet`}`,
        kind: 'create',
        safety: 'safe',
      },
    ],
  };
}

function missingBackup(spec: StorageSpec, repository: RepositoryRecord): string {
  return `backup ${spec.from_backup?.snapshot} of ${spec.kind} ${spec.name} is not in repository ${describeRepository(repository)}; list its backups with \`${commandHint(spec.root, `backup list ${spec.name} --repository ${repository.name}`)}\`, or use snapshot 'latest'`;
}

function backupKindProblem(spec: StorageSpec, entry: BackupEntry): string | undefined {
  if ((entry.kind === 'directory') === (spec.kind === 'directory')) return undefined;
  return `backup ${entry.shortId} holds a ${entry.kind}, which cannot become a ${spec.kind}`;
}

/**
 * Creates the storage from its backup (verified against the checksum it was pushed with), grown to sizeGb
 * when that is larger. Returns, without creating anything, the note for an empty create when the repository
 * holds no backup of it; throws (leaving nothing) when the repository cannot be read or the backup is wrong.
 */
async function createFromBackup(
  ctx: HandlerContext,
  spec: StorageSpec & Pick<BackupTarget, 'from_backup'>,
  where: string,
): Promise<string | undefined> {
  const what = `${spec.kind} ${spec.name}`;
  const repository = repositoryRecord(spec.project, spec.from_backup.repository, ctx.now());
  // Recorded first, so `--repository NAME` finds it on this host even when the restore fails.
  ctx.registry.put<RepositoryRecord>(REPOSITORIES, repositoryKey(spec.project, repository.name), repository);
  const { findBackup } = await import('../backup/backups.js');
  const { BackupError } = await import('../backup/backup-error.js');
  let entry: BackupEntry | undefined;
  try {
    entry = await findBackup(
      ctx,
      repository,
      { kind: spec.kind, project: spec.project, storage: spec.name },
      spec.from_backup.snapshot,
    );
  } catch (error) {
    // Never an empty disk because the repository could not be read.
    if (error instanceof BackupError)
      throw new RefusedError(`${what}: refusing to create it (fromBackup): ${error.message}`);
    throw error;
  }
  if (!entry) {
    if (spec.from_backup.snapshot !== LATEST_BACKUP)
      throw new RefusedError(`${what}: ${missingBackup(spec, repository)}`);
    return `no backup of ${what} in repository ${describeRepository(repository)}`;
  }
  const problem = backupKindProblem(spec, entry);
  if (problem) throw new RefusedError(`${what}: ${problem}`);
  const { restoreBackupTo } = await import('../backup/restore.js');
  await createAsCopy(ctx, spec, where, `backup ${entry.shortId}`, () =>
    restoreBackupTo(ctx, repository, entry, where).then(() => undefined),
  );
  recordStorageEvent(
    ctx,
    subjectOfSpec(spec),
    'created',
    `created from backup ${entry.shortId} (snapshot ${entry.snapshot}) in repository ${repository.name}`,
    { fromBackup: entry.shortId, repository: repository.name, snapshot: entry.snapshot },
  );
  ctx.log(
    `${what}: created from backup ${entry.shortId} of ${entry.time} (snapshot ${entry.snapshot}, pushed from ${entry.host || 'an unnamed host'}) in repository ${describeRepository(repository)} at ${where}`,
  );
  return undefined;
}

/**
 * What a restore from a backup killed mid-way left next to the storage (backup/restore.ts writes under
 * `.<name>.from-backup-<random>`, with its FIFO): never mounted nor recorded, so it holds nothing of anyone's.
 */
function removePartialRestores(where: string): void {
  const dir = path.dirname(where);
  const prefix = `.${path.basename(where)}.from-backup-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names.filter((n) => n.startsWith(prefix)))
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
}

function writeGrowMarker(spec: StorageSpec, targetGb: number): void {
  const marker = growMarkerPath(spec.root, spec.kind, spec.project, spec.name);
  replaceFileAtomically(marker, `${JSON.stringify({ growingToGb: targetGb })}\n`, 0o600);
  // Its directory entry too, so the marker outlives a power loss as the registry record does.
  syncDirectory(storageDirectory(spec.root, spec.kind, spec.project));
}

/** Removes the grow marker (also a stale one, left by a crash after the grow was recorded as done). */
export function removeGrowMarker(spec: Pick<StorageSpec, 'root' | 'kind' | 'project' | 'name'>): void {
  fs.rmSync(growMarkerPath(spec.root, spec.kind, spec.project, spec.name), { force: true });
}

function subjectOfSpec(spec: StorageSpec): EventSubject {
  return { kind: spec.kind, project: spec.project, storage: spec.name, stack: spec.stack || undefined };
}

function refusedDiff(
  action: Diff['action'],
  field: string,
  reason: string,
  safety: Change['safety'] = 'refused',
  kind: Change['kind'] = 'refused',
): Diff {
  return { action, changes: [{ field, kind, safety, reason }] };
}

function describe(spec: StorageSpec): string {
  return spec.kind === 'directory' ? 'directory' : `${spec.size_gb} GB ${spec.filesystem}`;
}

function recordChanges(spec: StorageSpec, record: StorageRecord | undefined): Change[] {
  if (!record) return [];
  const changes: Change[] = [];
  if (record.removalPolicy !== spec.removal_policy) {
    changes.push(classifyRemovalPolicy(record.removalPolicy, spec.removal_policy));
  }
  if (record.project !== spec.project)
    changes.push({ field: 'project', from: record.project, to: spec.project, kind: 'setting', safety: 'safe' });
  if (record.stack !== spec.stack)
    changes.push({ field: 'stack', from: record.stack, to: spec.stack, kind: 'setting', safety: 'safe' });
  if (record.shared !== spec.shared)
    changes.push({
      field: 'shared',
      from: String(record.shared),
      to: String(spec.shared),
      kind: 'setting',
      safety: 'safe',
    });
  return changes;
}

function newRecord(spec: StorageSpec, where: string, state: StorageRecord['state'], now: string): StorageRecord {
  return {
    kind: spec.kind,
    name: spec.name,
    project: spec.project,
    stack: spec.stack,
    state,
    sizeGb: spec.size_gb,
    filesystem: spec.kind === 'directory' ? undefined : (spec.filesystem as Filesystem),
    shared: spec.shared,
    removalPolicy: spec.removal_policy,
    path: where,
    createdAt: now,
    updatedAt: now,
    fromSnapshot: spec.from_snapshot || undefined,
  };
}
