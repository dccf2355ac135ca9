/**
 * The contract table: every resource kind the constructs render and the handlers converge, with its
 * handler command, wire schemas, identity and the class of a change to each field. The renderer, `hoststore
 * handle`, plan, apply and diff all read it, so the two halves cannot tell different stories. Pure data.
 */
import type { z } from 'zod';
import {
  mountIdentitySchema,
  mountSpecSchema,
  projectManifestSchema,
  snapshotPolicyIdentitySchema,
  snapshotPolicySpecSchema,
  storageIdentitySchema,
  storageSpecSchema,
  type MountSpecWire,
  type ProjectManifestWire,
  type SnapshotPolicySpecWire,
  type StorageSpecWire,
} from './schema.js';
import { parseRepositoryField } from './backup-spec.js';

/** In apply order: storage before what mounts or snapshots it, each project's manifest (which retires) last. */
export const KIND_NAMES = ['storage', 'mount', 'snapshot-policy', 'project'] as const;
export type KindName = (typeof KIND_NAMES)[number];
export type HandlerOp = 'converge' | 'delete';

/** The provisioner's command: a fixed string with no user value in it (the values travel in the environment). */
export function handlerCommand(kind: KindName, op: HandlerOp): string {
  return `"$HOSTSTORE_CLI" handle ${kind} ${op}`;
}

export type Safety = 'safe' | 'downtime' | 'data-loss' | 'refused';

/**
 * What a change does, as data (the plan decides `repair` and `replace` from it, never from prose):
 * `create`/`adopt`/`delete`/`retain` a whole thing; `grow`; `shrink` (refused) or `kept` (a smaller size
 * ignored, said not done); `reformat` (refused); `remount`; `replace` (same place, other thing: Terraform
 * replaces the identity carrier); `setting` (recorded in place); `drift` (the host differs from the record
 * behind hoststore's back); `repair` (finish or redo what the record says); `refused` (not ours to do,
 * or unsafe whatever the field); `note` (said, nothing done).
 */
export type ChangeKind =
  | 'create'
  | 'adopt'
  | 'delete'
  | 'retain'
  | 'grow'
  | 'shrink'
  | 'kept'
  | 'reformat'
  | 'remount'
  | 'replace'
  | 'setting'
  | 'drift'
  | 'repair'
  | 'refused'
  | 'note';

export interface FieldChange {
  /** The field or aspect that differs (`size_gb`, `image`, `read_only`, ...). */
  readonly field: string;
  readonly from?: string;
  readonly to?: string;
  readonly kind: ChangeKind;
  readonly safety: Safety;
  /** Why, in words a reviewer understands; required for anything not `safe`. */
  readonly reason?: string;
  /** A data-loss the code asks for itself (removalPolicy 'destroy'); shown as data-loss, not blocked. */
  readonly declared?: boolean;
}

/** The storage as it is while the change runs: what a change's class may depend on besides its two values. */
export interface ObservedStorage {
  /** Its filesystem is mounted (staged or at a replica's host path). */
  readonly mounted: boolean;
  readonly filesystem?: string;
}

/** Classifies one field's change from `from` to `to` (wire strings); undefined: nothing to do. */
export type Classify<W> = (
  from: string,
  to: string,
  context: { readonly before: W; readonly spec: W; readonly storage?: ObservedStorage },
) => FieldChange | undefined;

/**
 * How a change to a field is made: `identity` (says where the thing is: another value is another thing),
 * `{ replaces }` (in the identity, but another value at the same place replaces the thing there: Terraform
 * replaces its identity carrier, and the classifier says what that does), `ignored` (says whose it is, or
 * is derived; ownership is judged on the host), or a classifier (changed in place).
 */
export type FieldRule<W> = 'identity' | { readonly replaces: Classify<W> } | 'ignored' | Classify<W>;

export interface KindContract<W> {
  readonly name: KindName;
  /** Wire schema of the full spec (a thing's carrier's `input`, a null_resource config carrier's triggers). */
  readonly spec: z.ZodType<unknown, z.ZodTypeDef, W>;
  /** Wire schema of the identity carrier's triggers. */
  readonly identity: z.ZodType<unknown, z.ZodTypeDef, unknown>;
  /** Each wire field and how a change to it is made: the compiler makes every field say. */
  readonly fields: { readonly [F in keyof Required<W>]: FieldRule<W> };
  /**
   * Its registry record: the collection (`<root>/registry/<collection>.json`) and the fields every record
   * of it has as strings, in every build that wrote one (its key is derived from them; see
   * provider/registry/keys.ts). The project's manifest has no record of its own.
   */
  readonly record?: { readonly collection: 'storage' | 'mounts' | 'policies'; readonly identifying: readonly string[] };
}

const setting =
  <W>(field: string): Classify<W> =>
  (from, to) => ({ field, from, to, kind: 'setting', safety: 'safe' });

const storageWhat = (spec: StorageSpecWire) => `${spec.kind} ${spec.name}`;

/**
 * A size change: a grow is in place, with downtime only where ext4 is mounted (the kernel may refuse to
 * grow it online, and it is unmounted for a moment); a volume is never shrunk; a disk's smaller size only
 * ever created it, so it is ignored and said so. A size left out is simply not applied.
 */
export function classifySize(
  from: string,
  to: string,
  spec: Pick<StorageSpecWire, 'kind' | 'name'>,
  storage: ObservedStorage | undefined,
  adopting = false,
): FieldChange | undefined {
  if (to === '' || from === '' || from === to) return undefined;
  const [current, wanted] = [Number(from), Number(to)];
  const what = storageWhat(spec as StorageSpecWire);
  if (wanted > current) {
    return storage?.mounted && storage.filesystem === 'ext4'
      ? {
          field: 'size_gb',
          from,
          to,
          kind: 'grow',
          safety: 'downtime',
          reason:
            'grow in place; online first, and where ext4 cannot grow online it is unmounted for a moment (tens of ms)',
        }
      : { field: 'size_gb', from, to, kind: 'grow', safety: 'safe', reason: 'grow in place' };
  }
  if (spec.kind === 'disk' || adopting) {
    return {
      field: 'size_gb',
      from,
      to,
      kind: 'kept',
      safety: 'safe',
      reason: `kept at ${current} GB; sizeGb ${wanted} ignored (an existing ${spec.kind} is never shrunk)`,
    };
  }
  return {
    field: 'size_gb',
    from,
    to,
    kind: 'shrink',
    safety: 'refused',
    reason: `${what} is ${current} GB; shrinking it to ${wanted} GB could cut off data. Keep sizeGb at ${current} or more, or create a smaller ${spec.kind} and copy the data`,
  };
}

export function classifyFilesystem(
  from: string,
  to: string,
  spec: Pick<StorageSpecWire, 'kind' | 'name'>,
): FieldChange | undefined {
  if (from === to) return undefined;
  return {
    field: 'filesystem',
    from,
    to,
    kind: 'reformat',
    safety: 'refused',
    reason: `${storageWhat(spec as StorageSpecWire)} is ${from}; changing it to ${to} means reformatting, which erases its data. Keep filesystem '${from}', or create a new ${spec.kind} and copy the data`,
  };
}

export function classifyRemovalPolicy(from: string, to: string): FieldChange {
  return to === 'destroy'
    ? {
        field: 'removal_policy',
        from,
        to,
        kind: 'setting',
        safety: 'safe',
        reason: 'removing this storage from the code will then delete its data',
      }
    : { field: 'removal_policy', from, to, kind: 'setting', safety: 'safe' };
}

/** Other storage at a mount's place: the old is unmounted (its lease released), then the new one mounted. */
export function classifyMountedStorage(from: string, to: string): FieldChange | undefined {
  if (from === to) return undefined;
  return {
    field: 'storage',
    from,
    to,
    kind: 'replace',
    safety: 'downtime',
    reason: `replaced: ${from} is unmounted from this place, then ${to} mounted (the service sees neither in between)`,
  };
}

export function classifyReadOnly(from: string, to: string): FieldChange | undefined {
  return from === to
    ? undefined
    : { field: 'read_only', from, to, kind: 'remount', safety: 'safe', reason: 'remount in place' };
}

/** A `replicate_to` field as a reviewer reads it: `offsite (sftp:backup@host:/srv/hoststore)`; '' for none. */
export function describeRepositoryField(text: string): string {
  if (text === '') return '';
  const parsed = parseRepositoryField(text);
  return parsed.value ? `${parsed.value.name} (${parsed.value.url})` : text;
}

/**
 * Where a policy's snapshots are pushed. Recorded in place: pushes start, move or stop; what a repository
 * already holds is never touched by the change (backups are removed only by that repository's retention).
 */
export function classifyReplicateTo(fromText: string, toText: string): FieldChange | undefined {
  if (fromText === toText) return undefined;
  const [from, to] = [describeRepositoryField(fromText), describeRepositoryField(toText)];
  const change = { field: 'replicate_to', from, to, kind: 'setting', safety: 'safe' } as const;
  if (from === '') return { ...change, reason: `new snapshots are pushed to ${to} after each scheduled run` };
  if (to === '')
    return {
      ...change,
      reason: `pushes stop; the backups already in ${from} stay there (remove them with restic itself if they are no longer wanted)`,
    };
  if (from !== to) return { ...change, reason: `new pushes go to ${to}; the backups already in ${from} stay there` };
  // Same name and URL: the files that open it or its options changed.
  const [before, after] = [parseRepositoryField(fromText).value, parseRepositoryField(toText).value];
  const fields = (['password_file', 'environment_file', 'options'] as const).filter(
    (f) => JSON.stringify(before?.[f]) !== JSON.stringify(after?.[f]),
  );
  return { ...change, reason: `${to}: its ${fields.join(', ') || 'spec'} changed; the next push uses the new values` };
}

export const storageKind: KindContract<StorageSpecWire> = {
  name: 'storage',
  spec: storageSpecSchema,
  identity: storageIdentitySchema,
  record: { collection: 'storage', identifying: ['kind', 'name', 'project'] },
  fields: {
    // The host a remote project is on: another host is another thing (the old one stays on its host).
    host: 'identity',
    kind: 'identity',
    root: 'identity',
    project: 'identity',
    name: 'identity',
    stack: 'ignored',
    size_gb: (from, to, { spec, storage }) => classifySize(from, to, spec, storage),
    filesystem: (from, to, { spec }) => classifyFilesystem(from, to, spec),
    shared: setting('shared'),
    removal_policy: (from, to) => classifyRemovalPolicy(from, to),
    // Only a create copies a snapshot; once the storage exists the field is ignored.
    from_snapshot: 'ignored',
    // Likewise only a create restores a backup.
    from_backup: 'ignored',
  },
};

export const mountKind: KindContract<MountSpecWire> = {
  name: 'mount',
  spec: mountSpecSchema,
  identity: mountIdentitySchema,
  record: { collection: 'mounts', identifying: ['project', 'storage', 'service'] },
  fields: {
    // The host a remote project is on: another host is another thing (the old one stays on its host).
    host: 'identity',
    root: 'identity',
    project: 'identity',
    service: 'identity',
    replica: 'identity',
    mount_path: 'identity',
    // The storage a place shows, kind and name, is one change (shown once, under `storage`).
    storage: {
      replaces: (_from, _to, { before, spec }) =>
        classifyMountedStorage(`${before.storage_kind} ${before.storage}`, `${spec.storage_kind} ${spec.storage}`),
    },
    storage_kind: {
      replaces: (_from, _to, { before, spec }) =>
        before.storage === spec.storage
          ? classifyMountedStorage(`${before.storage_kind} ${before.storage}`, `${spec.storage_kind} ${spec.storage}`)
          : undefined,
    },
    stack: 'ignored',
    host_path: 'ignored',
    read_only: (from, to) => classifyReadOnly(from, to),
  },
};

export const snapshotPolicyKind: KindContract<SnapshotPolicySpecWire> = {
  name: 'snapshot-policy',
  spec: snapshotPolicySpecSchema,
  identity: snapshotPolicyIdentitySchema,
  record: { collection: 'policies', identifying: ['project', 'policy', 'storage', 'schedule'] },
  fields: {
    // The host a remote project is on: another host is another thing (the old one stays on its host).
    host: 'identity',
    root: 'identity',
    project: 'identity',
    policy: 'identity',
    storage: 'identity',
    storage_kind: 'identity',
    stack: 'ignored',
    schedule: setting('schedule'),
    retention_days: setting('retention_days'),
    retention_count: setting('retention_count'),
    max_freeze_seconds: setting('max_freeze_seconds'),
    replicate_to: (from, to) => classifyReplicateTo(from, to),
    remote_retention_days: setting('remote_retention_days'),
    remote_retention_count: setting('remote_retention_count'),
  },
};

export const projectKind: KindContract<ProjectManifestWire> = {
  name: 'project',
  spec: projectManifestSchema,
  identity: projectManifestSchema,
  fields: {
    // The host a remote project is on: another host is another thing (the old one stays on its host).
    host: 'identity',
    root: 'identity',
    project: 'identity',
    stack: 'identity',
    // What it lists is retired by the project handler, item by item, not changed as a field.
    storage: 'ignored',
    mounts: 'ignored',
    policies: 'ignored',
    specs: 'ignored',
  },
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- existential: each kind's contract has its own spec type
export const KINDS: { readonly [K in KindName]: KindContract<any> } = {
  storage: storageKind,
  mount: mountKind,
  'snapshot-policy': snapshotPolicyKind,
  project: projectKind,
};

function rulesOf(kind: KindName): Array<[string, FieldRule<Record<string, string>>]> {
  return Object.entries(KINDS[kind].fields as Record<string, FieldRule<Record<string, string>>>);
}

/** The identity fields of a kind (its identity carrier's triggers), in the table's order. */
export function identityFields(kind: KindName): string[] {
  return rulesOf(kind)
    .filter(([, rule]) => rule === 'identity' || typeof rule === 'object')
    .map(([field]) => field);
}

const identityFieldsByKind = new Map<KindName, readonly string[]>();

/** A wire spec's identity (its identity carrier's triggers): the table's identity fields of it, nothing else. */
export function identityOf(kind: KindName, spec: object): Record<string, string> {
  let fields = identityFieldsByKind.get(kind);
  if (!fields) identityFieldsByKind.set(kind, (fields = identityFields(kind)));
  const values = spec as Record<string, string | undefined>;
  // An optional field left out (`host` of a local project) is left out of the identity too.
  return Object.fromEntries(
    fields.filter((field) => values[field] !== undefined).map((field) => [field, values[field] as string]),
  );
}

/** The fields that say where a thing of this kind is: the same place with another value of the rest is replaced. */
export function placeFields(kind: KindName): string[] {
  return rulesOf(kind)
    .filter(([, rule]) => rule === 'identity')
    .map(([field]) => field);
}

/**
 * The changes between two wire specs of one thing at one place, each classified by the table (a field
 * the table does not know is a setting).
 */
export function classifyChanges(
  kind: KindName,
  before: Record<string, string>,
  after: Record<string, string>,
  storage?: ObservedStorage,
): FieldChange[] {
  const changes: FieldChange[] = [];
  const rules = Object.fromEntries(rulesOf(kind));
  for (const field of Object.keys({ ...before, ...after })) {
    const [from, to] = [before[field] ?? '', after[field] ?? ''];
    if (from === to) continue;
    const rule = rules[field];
    if (rule === undefined) {
      changes.push({ field, from, to, kind: 'setting', safety: 'safe' });
      continue;
    }
    if (rule === 'ignored' || rule === 'identity') continue;
    const classify = typeof rule === 'object' ? rule.replaces : rule;
    const change = classify(from, to, { before, spec: after, storage });
    if (change) changes.push(change);
  }
  // A replace mounts the new thing as the new spec says: nothing else changes in place.
  const replaced = changes.filter((c) => c.kind === 'replace');
  return replaced.length ? replaced : changes;
}
