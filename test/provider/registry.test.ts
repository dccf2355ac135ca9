import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Registry, mountKey, storageKey, type StorageRecord } from '../../provider/registry/store.js';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-registry-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const record: StorageRecord = {
  kind: 'disk',
  name: 'pg',
  project: 'app',
  stack: 's',
  state: 'ready',
  sizeGb: 20,
  filesystem: 'ext4',
  shared: false,
  removalPolicy: 'retain',
  path: '/x/disks/pg.img',
  createdAt: 't',
  updatedAt: 't',
};

test('records round-trip, list sorted, remove is idempotent', () => {
  const registry = new Registry(root);
  registry.putStorage(record);
  registry.putStorage({ ...record, kind: 'volume', name: 'db' });
  expect(registry.storage('disk', 'other-project', 'pg')).toEqual(record); // disks are host-wide
  expect(registry.list<StorageRecord>('storage').map((e) => e.key)).toEqual(['disk_pg', 'volume_app_db']);
  registry.removeStorage('disk', 'app', 'pg');
  registry.removeStorage('disk', 'app', 'pg');
  expect(registry.storage('disk', 'app', 'pg')).toBeUndefined();
});

test('a write leaves one file per collection and no temporary; a torn temporary is ignored', () => {
  const registry = new Registry(root);
  registry.putStorage(record);
  registry.putStorage({ ...record, name: 'cache' });
  const dir = path.join(root, 'registry');
  expect(fs.readdirSync(dir)).toEqual(['storage.json']);
  // one record per line, keys sorted, so a diff of the file reads like a diff of the records
  expect(
    fs
      .readFileSync(path.join(dir, 'storage.json'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('    "')),
  ).toEqual([
    expect.stringMatching(/^ {4}"disk_cache": \{"kind":"disk","name":"cache"/),
    expect.stringMatching(/^ {4}"disk_pg": \{"kind":"disk","name":"pg"/),
  ]);
  // a crash between write and rename leaves only a temporary, which readers never see
  fs.writeFileSync(path.join(dir, 'storage.json.tmp'), '{"torn');
  expect(new Registry(root).list('storage')).toHaveLength(2);
  registry.removeStorage('disk', 'app', 'cache');
  // each write's temporary has a name of its own (created exclusively): the torn one is left as it was
  expect(fs.readdirSync(dir)).toEqual(['storage.json', 'storage.json.tmp']);
  expect(fs.readFileSync(path.join(dir, 'storage.json.tmp'), 'utf8')).toBe('{"torn');
});

test('a write builds on the file as it is now, not on what this object read earlier', () => {
  // GIVEN two registry objects (two processes) that both read the collection
  const first = new Registry(root);
  const second = new Registry(root);
  expect(first.list('storage')).toEqual([]);
  expect(second.list('storage')).toEqual([]);
  // WHEN each writes a different record
  first.putStorage(record);
  second.putStorage({ ...record, name: 'cache' });
  // THEN neither write is lost, and each object sees the other's
  expect(first.list('storage').map((e) => e.key)).toEqual(['disk_cache', 'disk_pg']);
  expect(new Registry(root).storage('disk', 'app', 'pg')).toEqual(record);
});

test('a cached view reads each collection once and refuses to write', () => {
  const writer = new Registry(root);
  writer.putStorage(record);
  const view = new Registry(root, { cache: true });
  expect(view.list('storage')).toHaveLength(1);
  writer.putStorage({ ...record, name: 'cache' });
  expect(view.list('storage')).toHaveLength(1);
  expect(() => view.putStorage(record)).toThrow(/read-only/);
});

test('records of the earlier one-file-per-record layout are read, and carried over by the first write', () => {
  // GIVEN a root written by an earlier build: registry/storage/<key>.json
  fs.mkdirSync(path.join(root, 'registry', 'storage'), { recursive: true });
  fs.writeFileSync(path.join(root, 'registry', 'storage', 'disk--pg.json'), JSON.stringify(record));
  const registry = new Registry(root);
  expect(registry.storage('disk', 'app', 'pg')).toEqual(record);
  // WHEN a record is written THEN the collection file holds both
  registry.putStorage({ ...record, name: 'cache' });
  expect(new Registry(root).list('storage').map((e) => e.key)).toEqual(['disk_cache', 'disk_pg']);
});

test('a registry file that is not valid JSON is a clear error naming the file', () => {
  fs.mkdirSync(path.join(root, 'registry'), { recursive: true });
  fs.writeFileSync(path.join(root, 'registry', 'storage.json'), '{"version": 1, "records": {');
  expect(() => new Registry(root).list('storage')).toThrow(/registry file .*storage\.json is not valid JSON/);
});

test('keys that name properties every object has are records like any other', () => {
  const registry = new Registry(root);
  // a disk may be called `constructor`: before its lease is taken there is none
  expect(registry.lease('constructor')).toBeUndefined();
  expect(registry.lease('toString')).toBeUndefined();
  registry.removeStorage('disk', 'app', 'constructor');
  registry.put('leases', 'constructor', { disk: 'constructor' });
  expect(registry.lease('constructor')).toEqual({ disk: 'constructor' });
  expect(registry.list('leases').map((e) => e.key)).toEqual(['constructor']);
});

test('keys separate projects and mount paths', () => {
  expect(storageKey('volume', 'a', 'x')).not.toBe(storageKey('volume', 'b', 'x'));
  expect(mountKey('p', 's', 1, '/data')).not.toBe(mountKey('p', 's', 1, '/data2'));
});
