/**
 * Registry keys (and the cron file names made from policy keys): one key per record, unambiguous, and the
 * re-keying that carries a root written by earlier builds (parts joined with `--`) over to them.
 */
import { createHash } from 'node:crypto';
import type { StorageKind } from '../../src/schema.js';

/**
 * Parts are joined with `_`: names, projects, kinds, replicas and digests never contain it (names are
 * letters, digits and hyphens), so no two records share a key, and cron.d accepts it in file names.
 * Earlier builds joined with `--`, which names may contain (project `a--b` volume `c` = project `a`
 * volume `b--c`).
 */
const SEPARATOR = '_';

/** `disk_<name>` (disks are host-wide) or `<kind>_<project>_<name>`. */
export function storageKey(kind: StorageKind, project: string, name: string): string {
  return kind === 'disk' ? ['disk', name].join(SEPARATOR) : [kind, project, name].join(SEPARATOR);
}

/** `<project>_<service>_<replica>_<first 12 hex of sha256(mountPath)>`. */
export function mountKey(project: string, service: string, replica: number, mountPath: string): string {
  return [project, service, String(replica), digestOf(mountPath)].join(SEPARATOR);
}

/** `<project>_<policy>_<storage>` (storage names are unique within a project, whatever their kind). */
export function policyKey(identity: {
  readonly project: string;
  readonly policy: string;
  readonly storage: string;
}): string {
  return [identity.project, identity.policy, identity.storage].join(SEPARATOR);
}

/** The key earlier builds gave a policy, which also named its cron file `hoststore-<key>`. */
export function legacyPolicyKey(identity: {
  readonly project: string;
  readonly policy: string;
  readonly storage: string;
}): string {
  return `${identity.project}--${identity.policy}--${identity.storage}`;
}

function digestOf(mountPath: string): string {
  return createHash('sha256').update(mountPath).digest('hex').slice(0, 12);
}

type Fields = Record<string, unknown>;
const isText = (v: unknown): v is string => typeof v === 'string' && v !== '';

/**
 * The key a record belongs under, from its own fields; undefined when the record lacks them (it then
 * keeps the key it has: a damaged record is shown as it is, not guessed at).
 */
export function keyFromRecord(collection: string, record: unknown): string | undefined {
  if (typeof record !== 'object' || record === null) return undefined;
  const r = record as Fields;
  switch (collection) {
    case 'storage':
      return (r.kind === 'disk' || r.kind === 'volume' || r.kind === 'directory') && isText(r.project) && isText(r.name)
        ? storageKey(r.kind, r.project, r.name)
        : undefined;
    case 'mounts':
      return isText(r.project) && isText(r.service) && Number.isInteger(r.replica) && isText(r.mountPath)
        ? mountKey(r.project, r.service, r.replica as number, r.mountPath)
        : undefined;
    case 'policies':
      return isText(r.project) && isText(r.policy) && isText(r.storage)
        ? policyKey({ project: r.project, policy: r.policy, storage: r.storage })
        : undefined;
    default:
      return undefined;
  }
}

/**
 * A snapshot's `policy` reference in the old form (`<project>--<policy>--<storage>`), rewritten to the
 * policy's key: the snapshot record names its project and storage, so the policy name is what lies
 * between them, whatever hyphens it holds.
 */
export function policyReferenceFromSnapshot(record: unknown): string | undefined {
  if (typeof record !== 'object' || record === null) return undefined;
  const r = record as Fields;
  if (!isText(r.policy) || r.policy.includes(SEPARATOR) || !isText(r.project) || !isText(r.storage)) return undefined;
  const prefix = `${r.project}--`;
  const suffix = `--${r.storage}`;
  if (!r.policy.startsWith(prefix) || !r.policy.endsWith(suffix) || r.policy.length <= prefix.length + suffix.length)
    return undefined;
  return policyKey({ project: r.project, policy: r.policy.slice(prefix.length, -suffix.length), storage: r.storage });
}

/**
 * A collection as read, with every record under the key its fields give it (and old snapshot policy
 * references rewritten). Two records claiming one key: the one already there keeps it and the other keeps
 * its old key, so nothing is dropped.
 */
export function rekeyCollection(collection: string, records: Readonly<Fields>): Readonly<Fields> {
  if (collection !== 'storage' && collection !== 'mounts' && collection !== 'policies' && collection !== 'snapshots')
    return records;
  if (collection === 'snapshots') {
    const out: Fields = {};
    for (const [key, record] of Object.entries(records)) {
      const reference = policyReferenceFromSnapshot(record);
      out[key] = reference === undefined ? record : { ...(record as Fields), policy: reference };
    }
    return out;
  }
  const out: Fields = {};
  const wanted = (key: string, record: unknown) => keyFromRecord(collection, record) ?? key;
  for (const [key, record] of Object.entries(records)) if (wanted(key, record) === key) out[key] = record;
  for (const [key, record] of Object.entries(records)) {
    const target = wanted(key, record);
    if (target !== key) out[Object.hasOwn(out, target) ? key : target] = record;
  }
  return out;
}
