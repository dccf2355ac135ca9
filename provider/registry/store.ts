/**
 * The host registry: a durable record under the root of what hoststore made and what it should look
 * like. One JSON file per record, each replaced atomically (write, fsync, rename), so a crash leaves
 * either the old record or the new one, never a torn one. Callers hold the root lock while writing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { Filesystem, RemovalPolicy, StorageKind } from '../../src/schema.js';

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

type Collection = 'storage' | 'mounts' | 'leases' | 'policies' | 'snapshots';

export function storageKey(kind: StorageKind, project: string, name: string): string {
  return kind === 'disk' ? `disk--${name}` : `${kind}--${project}--${name}`;
}

export function mountKey(project: string, service: string, replica: number, mountPath: string): string {
  const digest = createHash('sha256').update(mountPath).digest('hex').slice(0, 12);
  return `${project}--${service}--${replica}--${digest}`;
}

export function registryDir(root: string): string {
  return path.join(root, 'registry');
}

export class Registry {
  /** Reads remembered for the life of this object (a plan reads every record several times); writes update it. */
  private readonly cache?: Map<string, unknown>;

  constructor(readonly root: string, options: { cache?: boolean } = {}) {
    if (options.cache) this.cache = new Map();
    this.dir = registryDir(root);
  }

  private readonly dir: string;

  private file(collection: Collection, key: string): string {
    // Keys are made by storageKey/mountKey from validated names: plain segments, so no join is needed.
    return `${this.dir}/${collection}/${key}.json`;
  }

  get<T>(collection: Collection, key: string): T | undefined {
    const file = this.file(collection, key);
    if (this.cache?.has(file)) return this.cache.get(file) as T | undefined;
    const text = readSmallFile(file);
    const record = text === undefined ? undefined : (JSON.parse(text) as T);
    this.cache?.set(file, record);
    return record;
  }

  put<T>(collection: Collection, key: string, record: T): void {
    const file = this.file(collection, key);
    const dir = path.dirname(file);
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(record, null, 2) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    syncDirectory(dir);
    this.cache?.set(file, record);
    this.cache?.delete(`list:${collection}`);
  }

  remove(collection: Collection, key: string): void {
    fs.rmSync(this.file(collection, key), { force: true });
    syncDirectory(path.dirname(this.file(collection, key)));
    this.cache?.set(this.file(collection, key), undefined);
    this.cache?.delete(`list:${collection}`);
  }

  list<T>(collection: Collection): Array<{ key: string; record: T }> {
    const cached = this.cache?.get(`list:${collection}`);
    if (cached) return cached as Array<{ key: string; record: T }>;
    const dir = path.join(registryDir(this.root), collection);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return [];
    }
    const entries = names
      .filter((name) => name.endsWith('.json'))
      .sort()
      .flatMap((name) => {
        const key = name.slice(0, -'.json'.length);
        const record = this.get<T>(collection, key);
        return record ? [{ key, record }] : [];
      });
    this.cache?.set(`list:${collection}`, entries);
    return entries;
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
    return this.mounts().filter((m) => m.storageKind === kind && m.storage === name && (kind === 'disk' || m.project === project));
  }

  lease(disk: string): LeaseRecord | undefined {
    return this.get<LeaseRecord>('leases', disk);
  }
}

const readBuffer = Buffer.allocUnsafe(64 * 1024);

/**
 * A record's text, or undefined when it does not exist. Records are small, so one read into a reused
 * buffer usually gets all of it (open, read, close: a plan of a thousand resources reads a thousand).
 */
function readSmallFile(file: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const length = fs.readSync(fd, readBuffer, 0, readBuffer.length, 0);
    if (length < readBuffer.length) return readBuffer.toString('utf8', 0, length);
  } finally {
    fs.closeSync(fd);
  }
  return fs.readFileSync(file, 'utf8');
}

function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
