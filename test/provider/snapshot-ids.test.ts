/**
 * Snapshot ids are the registry key: unique across projects, kinds and within a second, readable
 * (`<name>.<YYYYMMDDTHHMMSSZ>` first), and ids of earlier builds still accepted.
 */
import * as fs from 'node:fs';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { listSnapshots, takeSnapshot } from '../../provider/snapshots/snapshots.js';
import { snapshotIdRule } from '../../src/schema.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { storageWire } from '../helpers/specs.js';
import { hoststore } from '../helpers/cli.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => host.cleanup());

const NOW = '2026-11-21T04:00:30Z';
const ctx = () => makeContext(host.root, { log: () => undefined });
const cli = (...args: string[]) => hoststore([...args, '--root', host.root], undefined, { HOSTSTORE_NOW: NOW });
const volume = (project: string, name = 'db') => storageWire(host.root, { kind: 'volume', project, name });

hostTest()(
  "two projects' db volumes snapshotted in the same second both survive, with distinct records and files",
  async () => {
    // GIVEN volume db in project shop and volume db in project blog
    for (const project of ['shop', 'blog'])
      await converge(storageHandler, ctx(), storageHandler.validate(volume(project)));
    // WHEN both are snapshotted with the clock pinned to the same second
    const shop = cli('snapshot', 'create', 'db', '--project', 'shop', '--json');
    const blog = cli('snapshot', 'create', 'db', '--project', 'blog', '--json');
    expect([shop.status, blog.status]).toEqual([0, 0]);
    const [a, b] = [JSON.parse(shop.stdout), JSON.parse(blog.stdout)];
    // THEN each has its own id (readable: name and time first), record and file
    expect(a.id).not.toBe(b.id);
    expect(a.id).toMatch(/^db\.20261121T040030Z\./);
    expect(b.id).toMatch(/^db\.20261121T040030Z\./);
    const records = listSnapshots(ctx());
    expect(records.map((r) => [r.project, r.id]).sort()).toEqual([
      ['blog', b.id],
      ['shop', a.id],
    ]);
    expect(a.path).not.toBe(b.path);
    expect(fs.existsSync(a.path) && fs.existsSync(b.path)).toBe(true);
    // AND each id is accepted where ids are taken: list, restore, fromSnapshot, delete
    for (const id of [a.id, b.id]) expect(snapshotIdRule(id)).toBeUndefined();
    expect(cli('snapshot', 'list')).toMatchObject({ status: 0 });
    expect(cli('snapshot', 'restore', b.id, '--to', 'db-copy')).toMatchObject({
      status: 0,
      stdout: expect.stringMatching(/as volume db-copy/),
    });
    expect(ctx().registry.storage('volume', 'blog', 'db-copy')).toMatchObject({ fromSnapshot: b.id });
    expect(
      storageHandler.validate(
        storageWire(host.root, { kind: 'volume', project: 'shop', name: 'clone', from_snapshot: a.id }),
      ).from_snapshot,
    ).toBe(a.id);
    expect(cli('snapshot', 'delete', a.id)).toMatchObject({ status: 0 });
    expect(listSnapshots(ctx()).map((r) => r.id)).toEqual([b.id]);
  },
);

hostTest()(
  'a disk and a volume of one name, and two snapshots of one storage in one second, get distinct ids',
  async () => {
    // GIVEN disk db and volume db (project shop), and a clock pinned to one second
    await converge(
      storageHandler,
      ctx(),
      storageHandler.validate(storageWire(host.root, { kind: 'disk', project: 'shop', name: 'db' })),
    );
    await converge(storageHandler, ctx(), storageHandler.validate(volume('shop')));
    const pinned = makeContext(host.root, { log: () => undefined, now: () => new Date(NOW) });
    const disk = pinned.registry.storage('disk', 'shop', 'db')!;
    const vol = pinned.registry.storage('volume', 'shop', 'db')!;
    // WHEN each is snapshotted, and the disk twice more in the same second
    const taken = [];
    for (const record of [disk, vol, disk, disk]) taken.push(await takeSnapshot(pinned, record, 'manual'));
    // THEN four records, four ids, four files
    const all = listSnapshots(ctx());
    expect(all).toHaveLength(4);
    expect(new Set(all.map((s) => s.id)).size).toBe(4);
    expect(new Set(all.map((s) => s.path)).size).toBe(4);
    expect(taken.map((s) => s.id)).toEqual([
      'db.20261121T040030Z.disk',
      'db.20261121T040030Z.volume.shop',
      'db.20261121T040030Z.disk.2',
      'db.20261121T040030Z.disk.3',
    ]);
    for (const s of taken) expect(snapshotIdRule(s.id)).toBeUndefined();
  },
);

test('snapshot ids of earlier builds stay valid; garbage does not', () => {
  expect(snapshotIdRule('data.20261121T040030Z')).toBeUndefined();
  for (const bad of [
    'data',
    'data.2026',
    'data.20261121T040030Z.',
    '../x.20261121T040030Z',
    'data.20261121T040030Z.volume',
    'data.20261121T040030Z.disk.app',
    'data.20261121T040030Z.volume.App',
  ]) {
    expect({ bad, problem: snapshotIdRule(bad) }).toEqual({
      bad,
      problem: expect.stringMatching(/must be a snapshot id/),
    });
  }
});
