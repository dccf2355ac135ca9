/**
 * Who owns storage: the project and stack that created it (its record's `project`/`stack`) own it and
 * its policy; any other project or stack that declares it by name borrows it (may mount it, never
 * changes or deletes it). Retained storage has no owner: the next project that declares it adopts it.
 */
import type { StorageSpec } from '../../src/schema.js';
import type { StorageRecord } from '../registry/store.js';
import type { Change, HandlerContext } from './handler.js';

export function ownerName(record: Pick<StorageRecord, 'project' | 'stack'>): string {
  return `project ${record.project} (stack ${record.stack})`;
}

/**
 * True when `project`/`stack` only borrow the storage of `record`. An unknown stack (a delete run by an
 * older synth output that does not say its stack) is judged by the project alone.
 */
export function isBorrower(record: StorageRecord | undefined, project: string, stack: string | undefined): boolean {
  if (!record || record.state === 'retained' || record.state === 'creating') return false;
  return record.project !== project || (stack !== undefined && record.stack !== stack);
}

/**
 * What a borrower's spec asks of storage it does not own: a different policy, a larger size or another
 * `shared` are refused, naming the owner and the way out. A smaller or absent size is simply not applied.
 */
export function borrowerChanges(spec: StorageSpec, record: StorageRecord, currentGb: number): Change[] {
  const what = `${spec.kind} ${spec.name}`;
  const owner = ownerName(record);
  const changes: Change[] = [];
  if (spec.removal_policy !== record.removalPolicy) {
    changes.push({
      field: 'removal_policy',
      from: record.removalPolicy,
      to: spec.removal_policy,
      kind: 'refused',
      safety: 'refused',
      reason: `${what} belongs to ${owner}, which set its removalPolicy; project ${spec.project} (stack ${spec.stack}) reuses it by name and cannot change that. Set removalPolicy: '${record.removalPolicy}' here to borrow it as it is, change the policy in stack ${record.stack}, or give this ${spec.kind} another name`,
    });
  }
  if (spec.size_gb !== undefined && spec.size_gb > currentGb) {
    changes.push({
      field: 'size_gb',
      from: String(currentGb),
      to: String(spec.size_gb),
      kind: 'refused',
      safety: 'refused',
      reason: `${what} belongs to ${owner}; only its owner grows it. Raise sizeGb in stack ${record.stack}, or set sizeGb to ${currentGb} or less (or leave it out) here`,
    });
  }
  if (spec.shared !== record.shared) {
    changes.push({
      field: 'shared',
      from: String(record.shared),
      to: String(spec.shared),
      kind: 'refused',
      safety: 'refused',
      reason: `${what} belongs to ${owner} with shared: ${record.shared}; set shared: ${record.shared} here to borrow it, or give this ${spec.kind} another name`,
    });
  }
  return changes;
}

/** Said in the plan of a borrower (no change): whose it is and what removing it here does. */
export function borrowedNote(record: StorageRecord): Change {
  return {
    field: 'owner',
    kind: 'note',
    safety: 'safe',
    reason: `borrowed from ${ownerName(record)}, which owns it and its policy; removing it here releases only this stack's mounts of it`,
  };
}

/**
 * A borrower removes storage from its code (or destroys its stack): its own mounts of it are released
 * (and with them a disk's lease it held), nothing more; the owner's data and record stay.
 */
export async function releaseBorrowed(
  ctx: HandlerContext,
  identity: { kind: StorageRecord['kind']; root: string; project: string; name: string },
  record: StorageRecord,
  stack: string | undefined,
): Promise<void> {
  const what = `${identity.kind} ${identity.name}`;
  const { mountHandler, mountIdentityOfRecord } = await import('./mount.js');
  const mine = ctx.registry
    .mountsOf(identity.kind, identity.project, identity.name)
    .filter((m) => m.project === identity.project && (stack === undefined || m.stack === stack));
  for (const m of mine) {
    await mountHandler.delete(ctx, mountIdentityOfRecord(identity.root, m));
  }
  ctx.log(
    `${what}: borrowed from ${ownerName(record)}; ${mine.length ? `released ${mine.length} mount(s) of project ${identity.project}` : 'nothing of its own to release'}, the data and record stay with the owner`,
  );
}
