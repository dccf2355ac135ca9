/**
 * A service that gets a new, empty storage where it had its data: renaming a storage, renaming its
 * project or switching `shared` creates new storage at the same service and mount path while the old data
 * is retained elsewhere. The application sees its data vanish, so the plan and `diff` call it data-loss.
 */
import type { Change, HandlerContext } from '../handlers/handler.js';
import { storagePath } from '../handlers/storage.js';
import type { StorageKind } from '../../src/schema.js';
import type { DesiredSpec } from './desired.js';
import { commandHint } from '../command-hint.js';

interface Seen {
  readonly project: string;
  readonly stack: string;
  readonly service: string;
  /** Which instance of the service: a replica added later sees nothing yet, so it loses nothing. */
  readonly replica: string;
  readonly mountPath: string;
  readonly storage: string;
  readonly storageKind: StorageKind;
}

/** The mounts of `storage` (a storage spec) declared in `desired`. */
function mountsOf(storage: Record<string, string>, desired: readonly DesiredSpec[]): Record<string, string>[] {
  return desired
    .filter(
      (d) =>
        d.kind === 'mount' &&
        d.spec.root === storage.root &&
        d.spec.project === storage.project &&
        d.spec.storage === storage.name &&
        d.spec.storage_kind === storage.kind,
    )
    .map((d) => d.spec);
}

/**
 * A data-loss change for the creation of `storage` when one of its mounts is where a service used to see
 * other storage (`before`: what the host's mount records or the base synth output say it saw).
 */
export function replacedDataChange(
  storage: Record<string, string>,
  desired: readonly DesiredSpec[],
  before: readonly Seen[],
  policyOf: (seen: Seen) => string | undefined,
): Change | undefined {
  for (const m of mountsOf(storage, desired)) {
    const seen = before.find(
      (s) =>
        s.service === m.service &&
        s.replica === m.replica &&
        s.mountPath === m.mount_path &&
        (s.project === m.project || s.stack === m.stack) &&
        !(s.storage === storage.name && s.storageKind === storage.kind && s.project === storage.project),
    );
    if (!seen) continue;
    const where = storagePath({
      kind: seen.storageKind,
      root: storage.root,
      project: seen.project,
      name: seen.storage,
    });
    const policy = policyOf(seen);
    const fate =
      policy === undefined || policy === 'retain'
        ? `the old data stays at ${where} (retained, not deleted)`
        : policy === 'snapshot'
          ? `the old data at ${where} is deleted after a final snapshot (removalPolicy 'snapshot')`
          : `the old data at ${where} is deleted (removalPolicy 'destroy')`;
    return {
      field: 'data',
      from: `${seen.storageKind} ${seen.storage} (project ${seen.project})`,
      to: `new empty ${storage.kind} ${storage.name}`,
      kind: 'replace',
      safety: 'data-loss',
      reason: `service ${m.service} sees ${seen.storageKind} ${seen.storage} of project ${seen.project} at ${m.mount_path}; this gives it a new, empty ${storage.kind} ${storage.name} there instead, and ${fate}. To keep the data: rename it back to '${seen.storage}' (with project '${seen.project}' and shared as before), or copy from ${where} (\`${commandHint(storage.root, `snapshot create ${seen.storage}`)}\`, then fromSnapshot)`,
    };
  }
  return undefined;
}

/** What the host's mount records say each service sees now. */
export function seenOnHost(ctx: HandlerContext): Seen[] {
  return ctx.registry.mounts().map((m) => ({
    project: m.project,
    stack: m.stack,
    service: m.service,
    replica: String(m.replica),
    mountPath: m.mountPath,
    storage: m.storage,
    storageKind: m.storageKind,
  }));
}

/** What a base synth output says each service sees. */
export function seenInSynth(base: readonly DesiredSpec[]): Seen[] {
  return base
    .filter((d) => d.kind === 'mount')
    .map((d) => ({
      project: d.spec.project,
      stack: d.spec.stack,
      service: d.spec.service,
      replica: d.spec.replica,
      mountPath: d.spec.mount_path,
      storage: d.spec.storage,
      storageKind: d.spec.storage_kind as StorageKind,
    }));
}
