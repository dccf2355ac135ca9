/**
 * The least a registry record must be for hoststore to read it: an object with its identifying fields as
 * strings. A record changed by hand into `null` or a bare value is reported in one line, not as a crash.
 */

import { KINDS } from '../../src/kinds.js';

/**
 * Fields every record of a collection has, in every build that wrote one (keys are re-derived from them):
 * each resource kind's from the contract table, plus leases and snapshots, which no carrier declares.
 */
const IDENTIFYING_FIELDS: Readonly<Record<string, readonly string[]>> = {
  ...Object.fromEntries(
    Object.values(KINDS).flatMap((kind) => (kind.record ? [[kind.record.collection, kind.record.identifying]] : [])),
  ),
  leases: ['disk', 'project', 'service'],
  snapshots: ['id', 'storage'],
  repositories: ['project', 'name', 'url', 'passwordFile'],
  backups: ['storageKind', 'project', 'storage', 'repository'],
};

/** What is wrong with one record of `collection`, or undefined when it can be read. */
export function recordShapeProblem(collection: string, key: string, record: unknown): string | undefined {
  const fix = 'restore the file from a backup, or fix or remove that record by hand';
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    const held =
      record === null
        ? 'null'
        : Array.isArray(record)
          ? 'an array'
          : (JSON.stringify(record)?.slice(0, 40) ?? String(record));
    return `has record ${JSON.stringify(key)} holding ${held}, which is not a ${collection} record (an object); ${fix}`;
  }
  for (const field of IDENTIFYING_FIELDS[collection] ?? []) {
    const value = (record as Record<string, unknown>)[field];
    if (typeof value !== 'string') {
      return `has record ${JSON.stringify(key)} whose "${field}" is ${value === undefined ? 'missing' : `${JSON.stringify(value)?.slice(0, 40)}, not a string`}; ${fix}`;
    }
  }
  return undefined;
}
