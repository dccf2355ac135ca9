/**
 * Snapshot ids, which are also their registry keys: `<name>.<YYYYMMDDTHHMMSSZ>.<kind>[.<project>][.<n>]`,
 * readable (name and time first) and unique across projects (a volume's project is part of it; disks are
 * host-wide), kinds and within a second (`.2`, `.3`, ... after the first).
 */
import type { StorageKind } from '../../src/schema.js';

export function snapshotTime(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** The first id for this storage and second that `taken` does not already hold (callers hold the root lock). */
export function newSnapshotId(
  storage: { kind: StorageKind; project: string; name: string },
  at: Date,
  taken: (id: string) => boolean,
): string {
  const base = `${storage.name}.${snapshotTime(at)}.${storage.kind}${storage.kind === 'disk' ? '' : `.${storage.project}`}`;
  for (let n = 1; ; n += 1) {
    const id = n === 1 ? base : `${base}.${n}`;
    if (!taken(id)) return id;
  }
}
