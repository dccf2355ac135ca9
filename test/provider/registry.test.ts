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
  kind: 'disk', name: 'pg', project: 'app', stack: 's', state: 'ready', sizeGb: 20, filesystem: 'ext4', shared: false,
  removalPolicy: 'retain', path: '/x/disks/pg.img', createdAt: 't', updatedAt: 't',
};

test('records round-trip, list sorted, remove is idempotent', () => {
  const registry = new Registry(root);
  registry.putStorage(record);
  registry.putStorage({ ...record, kind: 'volume', name: 'db' });
  expect(registry.storage('disk', 'other-project', 'pg')).toEqual(record); // disks are host-wide
  expect(registry.list<StorageRecord>('storage').map((e) => e.key)).toEqual(['disk--pg', 'volume--app--db']);
  registry.removeStorage('disk', 'app', 'pg');
  registry.removeStorage('disk', 'app', 'pg');
  expect(registry.storage('disk', 'app', 'pg')).toBeUndefined();
});

test('a write leaves no temporary file and a torn temporary is ignored', () => {
  const registry = new Registry(root);
  registry.putStorage(record);
  const dir = path.join(root, 'registry', 'storage');
  expect(fs.readdirSync(dir)).toEqual(['disk--pg.json']);
  // a crash between write and rename leaves only a temporary, which readers never see
  fs.writeFileSync(path.join(dir, 'disk--pg.json.tmp-999'), '{"torn');
  expect(registry.list('storage')).toHaveLength(1);
});

test('keys separate projects and mount paths', () => {
  expect(storageKey('volume', 'a', 'x')).not.toBe(storageKey('volume', 'b', 'x'));
  expect(mountKey('p', 's', 1, '/data')).not.toBe(mountKey('p', 's', 1, '/data2'));
});
