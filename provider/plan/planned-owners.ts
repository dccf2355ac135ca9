/**
 * Ownership between the specs of one plan. Disks are host-wide, so two stacks of one synth output can
 * declare the same new disk; before it exists both would plan `create`, and the apply would refuse the
 * second halfway. The first spec planned to create (or adopt) a storage is its owner-to-be, and a later
 * spec of another project or stack is judged against it as a borrower is judged against a record.
 */
import type { StorageSpec } from '../../src/schema.js';
import type { StorageRecord } from '../registry/store.js';
import type { Diff } from '../handlers/handler.js';
import { borrowedNote, borrowerChanges, isBorrower } from '../handlers/storage-owner.js';

export class PlannedOwners {
  private readonly storage = new Map<string, StorageRecord>();

  /** `diff` as the handler gave it, or the borrower's diff when another spec of this plan creates the storage first. */
  judgeStorage(spec: StorageSpec, diff: Diff): Diff {
    if (diff.action !== 'create' && diff.action !== 'adopt') return diff;
    const key = [spec.root, spec.kind, spec.kind === 'disk' ? '' : spec.project, spec.name].join('\0');
    const owner = this.storage.get(key);
    if (!owner) {
      this.storage.set(key, recordToBe(spec));
      return diff;
    }
    if (!isBorrower(owner, spec.project, spec.stack)) return diff;
    const refused = borrowerChanges(spec, owner, owner.sizeGb ?? 0);
    return { action: refused.length > 0 ? 'update' : 'none', changes: [...refused, borrowedNote(owner)] };
  }
}

/** The record the owner's create will write, as far as ownership is judged. */
function recordToBe(spec: StorageSpec): StorageRecord {
  return {
    kind: spec.kind,
    name: spec.name,
    project: spec.project,
    stack: spec.stack,
    state: 'ready',
    sizeGb: spec.size_gb,
    filesystem: spec.kind === 'directory' ? undefined : (spec.filesystem as StorageRecord['filesystem']),
    shared: spec.shared,
    removalPolicy: spec.removal_policy,
    path: '',
    createdAt: '',
    updatedAt: '',
  };
}
