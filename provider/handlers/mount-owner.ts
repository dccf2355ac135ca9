/**
 * Who owns a mount point: the stack that first mounted something at a project's service, replica and
 * path. Another stack of that project declaring the same Mount borrows it (never flips it to itself, and
 * its destroy leaves it); declaring other storage or another mode there is refused, naming the owner.
 */
import type { MountSpec } from '../../src/schema.js';
import type { MountRecord } from '../registry/store.js';
import type { Change } from './handler.js';

/** True when `stack` (a spec's, or the one a delete runs for) is not the stack that owns the mount `record`. */
export function isMountBorrower(record: MountRecord | undefined, stack: string | undefined): record is MountRecord {
  return record !== undefined && stack !== undefined && record.stack !== stack;
}

/** What a borrowing stack's Mount may not change: the storage shown there, or read-only versus read-write. */
export function mountBorrowerChanges(spec: MountSpec, record: MountRecord, hostPath: string): Change[] {
  const same =
    record.storageKind === spec.storage_kind && record.storage === spec.storage && record.readOnly === spec.read_only;
  if (same) return [];
  const mode = (readOnly: boolean) => (readOnly ? ' (read-only)' : '');
  return [
    {
      field: 'mount',
      kind: 'refused',
      from: `${record.storageKind} ${record.storage}${mode(record.readOnly)}`,
      to: `${spec.storage_kind} ${spec.storage}${mode(spec.read_only)}`,
      safety: 'refused',
      reason: `${hostPath} (${spec.project}/${spec.service} replica ${spec.replica}:${spec.mount_path}) is where stack ${record.stack} of project ${record.project} mounts ${record.storageKind} ${record.storage}${mode(record.readOnly)}; stack ${spec.stack} cannot mount ${spec.storage_kind} ${spec.storage}${mode(spec.read_only)} there too. Give this Mount another service or mountPath, or remove it from one of the two stacks`,
    },
  ];
}

/** Said in the plan of a borrowing stack: whose mount it is and what removing it here does. */
export function borrowedMountNote(record: MountRecord): Change {
  return {
    field: 'owner',
    kind: 'note',
    safety: 'safe',
    reason: `this mount is stack ${record.stack}'s (project ${record.project}); removing it here leaves it mounted`,
  };
}

/**
 * A mount of the same replica that `mountPath` would lie inside or over: hoststore never mounts inside
 * another mount (what is in it belongs to the service, which could swap a directory for a symlink between
 * the check and mount(8)) nor over one (hiding it). One StorageProject already refuses this at synth.
 */
export function nestedMount(records: readonly MountRecord[], spec: MountSpec): MountRecord | undefined {
  const inside = (a: string, b: string) => a.startsWith(`${b}/`);
  return records.find(
    (m) =>
      m.project === spec.project &&
      m.service === spec.service &&
      m.replica === spec.replica &&
      (inside(spec.mount_path, m.mountPath) || inside(m.mountPath, spec.mount_path)),
  );
}

export function nestedMountChange(spec: MountSpec, other: MountRecord): Change {
  const below = spec.mount_path.startsWith(`${other.mountPath}/`);
  return {
    field: 'mount_path',
    to: spec.mount_path,
    kind: 'refused',
    safety: 'refused',
    reason: `${spec.project}/${spec.service} replica ${spec.replica}:${spec.mount_path} would lie ${below ? 'inside' : 'over'} ${other.mountPath}, where stack ${other.stack} mounts ${other.storageKind} ${other.storage}; hoststore does not mount ${below ? "inside another mount (its content is the service's)" : 'over another mount (it would hide it)'}. Give this Mount a mountPath that neither contains nor lies in ${other.mountPath}`,
  };
}
