/**
 * The host registry: a durable record under the root of what hoststore made and what it should look
 * like. One JSON file per collection (`<root>/registry/storage.json`, `mounts.json`, ...), one record per
 * line, replaced atomically (write, fsync, rename, fsync the directory), so a crash leaves either the old
 * file or the new one, never a torn one. A plan reads each collection with one read, not a file per
 * resource. Callers hold the root lock while writing; every write re-reads the file first, so it never
 * builds on a stale copy.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Filesystem, RemovalPolicy, StorageKind } from '../../src/schema.js';
import { HoststoreError } from '../errors.js';
import { naturalCompare } from '../natural-order.js';
import { replaceFileAtomically, syncDirectory } from '../host/files.js';
import { rekeyCollection, storageKey } from './keys.js';
import { recordShapeProblem } from './record-shape.js';
import { noSpaceError } from './no-space.js';

export { mountKey, storageKey } from './keys.js';

export type StorageState = 'creating' | 'ready' | 'retained';

export interface StorageRecord {
  readonly kind: StorageKind;
  readonly name: string;
  /** Project that made it (disks are host-wide but remember who created them). */
  readonly project: string;
  readonly stack: string;
  readonly state: StorageState;
  /** Nominal size the filesystem was last grown to; undefined for directories. */
  readonly sizeGb?: number;
  /** A grow that was started and not yet finished (image grown, filesystem maybe not). */
  readonly growingToGb?: number;
  readonly filesystem?: Filesystem;
  readonly shared: boolean;
  readonly removalPolicy: RemovalPolicy;
  /** Image file (block storage) or directory (directory volume). */
  readonly path: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly retainedAt?: string;
  readonly fromSnapshot?: string;
  /** An in-place restore under way: the next run finishes or rolls it back (snapshots/restore-in-place.ts). */
  readonly restoring?: RestoreInProgress;
}

export interface RestoreInProgress {
  readonly snapshot: string;
  /** The snapshot of the content before the restore (always kept). */
  readonly safety: string;
  /** `copying`: the temporary may be partial (roll back); `swapping`: it is whole and synced (finish). */
  readonly phase: 'copying' | 'swapping';
  readonly startedAt: string;
}

export interface MountRecord {
  readonly project: string;
  readonly stack: string;
  readonly storageKind: StorageKind;
  readonly storage: string;
  readonly service: string;
  readonly replica: number;
  readonly mountPath: string;
  readonly hostPath: string;
  readonly readOnly: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface LeaseRecord {
  readonly disk: string;
  readonly project: string;
  readonly service: string;
  readonly replica: number;
  readonly hostPath: string;
  readonly since: string;
}

type Collection = 'storage' | 'mounts' | 'leases' | 'policies' | 'snapshots' | 'repositories' | 'backups';

export function registryDir(root: string): string {
  return path.join(root, 'registry');
}

/** A collection as last read: its text, so a later read can tell whether it changed without parsing it. */
interface LoadedCollection {
  readonly text: string;
  readonly records: Readonly<Record<string, unknown>>;
}

export class Registry {
  /** With `cache`, each collection is read once for the life of this object (a plan's consistent view). */
  private readonly snapshot: boolean;
  private readonly loaded = new Map<Collection, LoadedCollection>();
  private readonly dir: string;
  private dirMade = false;

  constructor(
    readonly root: string,
    options: { cache?: boolean } = {},
  ) {
    this.snapshot = options.cache ?? false;
    this.dir = registryDir(root);
  }

  private file(collection: Collection): string {
    return `${this.dir}/${collection}.json`;
  }

  /**
   * The collection's records. Without `cache` the file is read again every time (another process may
   * have written it since), but only parsed when its text changed.
   */
  private records(collection: Collection): Readonly<Record<string, unknown>> {
    const previous = this.loaded.get(collection);
    if (previous && this.snapshot) return previous.records;
    const text = readTextOrUndefined(this.file(collection));
    if (text === undefined) {
      const legacy =
        previous?.text === ''
          ? previous
          : {
              text: '',
              records: rekeyCollection(
                collection,
                checkRecords(collection, readLegacyCollection(this.dir, collection), path.join(this.dir, collection)),
              ),
            };
      this.loaded.set(collection, legacy);
      return legacy.records;
    }
    if (previous && previous.text === text) return previous.records;
    // Records keyed the way earlier builds did are read under their keys of today; the next write keeps that.
    const records = rekeyCollection(
      collection,
      checkRecords(collection, parseCollection(text, this.file(collection)), this.file(collection)),
    );
    this.loaded.set(collection, { text, records });
    return records;
  }

  get<T>(collection: Collection, key: string): T | undefined {
    // Own keys only: a disk may well be named `constructor` or `toString`.
    const records = this.records(collection);
    return Object.hasOwn(records, key) ? (records[key] as T) : undefined;
  }

  put<T>(collection: Collection, key: string, record: T): void {
    this.write(collection, { ...this.fresh(collection), [key]: record });
  }

  remove(collection: Collection, key: string): void {
    const records = this.fresh(collection);
    if (!Object.hasOwn(records, key)) return;
    const { [key]: _removed, ...rest } = records;
    this.write(collection, rest);
  }

  list<T>(collection: Collection): Array<{ key: string; record: T }> {
    const records = this.records(collection);
    return Object.keys(records)
      .sort(naturalCompare)
      .map((key) => ({ key, record: records[key] as T }));
  }

  /** The records as they are on disk now, whatever this object read before (writes build on these). */
  private fresh(collection: Collection): Readonly<Record<string, unknown>> {
    if (this.snapshot) throw new Error('a cached (read-only) registry view cannot write');
    return this.records(collection);
  }

  private write(collection: Collection, records: Record<string, unknown>): void {
    const file = this.file(collection);
    if (!this.dirMade) {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.dirMade = true;
    }
    const text = renderCollection(records);
    try {
      replaceFileAtomically(file, text, 0o600);
    } catch (error) {
      throw noSpaceError(error, file, `${file} keeps its previous content`) ?? error;
    }
    syncDirectory(this.dir);
    this.loaded.set(collection, { text, records });
  }

  storage(kind: StorageKind, project: string, name: string): StorageRecord | undefined {
    return this.get<StorageRecord>('storage', storageKey(kind, project, name));
  }

  putStorage(record: StorageRecord): void {
    this.put('storage', storageKey(record.kind, record.project, record.name), record);
  }

  removeStorage(kind: StorageKind, project: string, name: string): void {
    this.remove('storage', storageKey(kind, project, name));
  }

  mounts(): MountRecord[] {
    return this.list<MountRecord>('mounts').map((entry) => entry.record);
  }

  /** Mount records of one storage (a disk is host-wide, so any project's mount of it counts). */
  mountsOf(kind: StorageKind, project: string, name: string): MountRecord[] {
    return this.mounts().filter(
      (m) => m.storageKind === kind && m.storage === name && (kind === 'disk' || m.project === project),
    );
  }

  lease(disk: string): LeaseRecord | undefined {
    return this.get<LeaseRecord>('leases', disk);
  }
}

const FORMAT_VERSION = 1;

/** `{"version":1,"records":{...}}` with one record per line, keys sorted: readable and diffable. */
function renderCollection(records: Record<string, unknown>): string {
  const lines = Object.keys(records)
    .sort()
    .map((key) => `    ${JSON.stringify(key)}: ${JSON.stringify(records[key])}`);
  return `{\n  "version": ${FORMAT_VERSION},\n  "records": {\n${lines.join(',\n')}${lines.length ? '\n' : ''}  }\n}\n`;
}

function parseCollection(text: string, file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new HoststoreError(
      `the registry file ${file} is not valid JSON (${(error as Error).message}); restore it from a backup or fix it by hand`,
    );
  }
  const problem = registryFileProblem(parsed);
  if (problem) throw new HoststoreError(`the registry file ${file} ${problem}`);
  return (parsed as { records: Record<string, unknown> }).records;
}

/** The records, once each is known to be one hoststore can read (else one line naming the file and the record). */
function checkRecords(collection: Collection, records: Record<string, unknown>, file: string): Record<string, unknown> {
  for (const key of Object.keys(records)) {
    const problem = recordShapeProblem(collection, key, records[key]);
    if (problem) throw new HoststoreError(`the registry file ${file} ${problem}`);
  }
  return records;
}

/** What is wrong with a parsed registry file, with the fix; undefined when it is one this build reads. */
function registryFileProblem(parsed: unknown): string | undefined {
  const shape = `{"version": ${FORMAT_VERSION}, "records": {...}}`;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return `is not a registry collection (it holds ${describeJson(parsed)}, expected ${shape}); restore it from a backup or fix it by hand`;
  }
  const { version, records } = parsed as { version?: unknown; records?: unknown };
  if (version !== FORMAT_VERSION)
    return `has version ${JSON.stringify(version)}; this hoststore reads version ${FORMAT_VERSION} (expected ${shape})`;
  if (typeof records !== 'object' || records === null || Array.isArray(records)) {
    return `has "records": ${describeJson(records)}, which is not an object of records by key; restore it from a backup, or if the collection really is empty, write "records": {}`;
  }
  return undefined;
}

function describeJson(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' && value !== null ? 'an object' : JSON.stringify(value).slice(0, 40);
}

function readTextOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EISDIR') {
      throw new HoststoreError(
        `the registry file ${file} is a directory, not a file hoststore wrote; move it away and restore the file from a backup`,
      );
    }
    throw error;
  }
}

/**
 * Records in the layout earlier builds of hoststore wrote: one `<collection>/<key>.json` per record. Read
 * only while the collection file does not exist yet; the first write carries them over (the old files are
 * left in place, unread from then on).
 */
function readLegacyCollection(dir: string, collection: Collection): Record<string, unknown> {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(dir, collection));
  } catch {
    return {};
  }
  const records: Record<string, unknown> = {};
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const file = path.join(dir, collection, name);
    try {
      records[name.slice(0, -'.json'.length)] = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (error) {
      throw new HoststoreError(
        `the registry record ${file} is not valid JSON (${(error as Error).message}); restore it from a backup or fix it by hand`,
      );
    }
  }
  return records;
}
