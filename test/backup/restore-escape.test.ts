/**
 * A directory backup's recorded path comes from the repository (whoever can write there chooses it): a
 * restore must never reach outside its staging directory through `..` or a symlink, nor delete or move
 * anything there.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeContext } from '../../provider/handlers/handler.js';
import { restoreBackupTo } from '../../provider/backup/restore.js';
import { entryOf, listBackups } from '../../provider/backup/backups.js';
import { checksum } from '../../provider/snapshots/snapshots.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { makeEngineRepository, type EngineRepository } from './engine-fixture.js';

let host: HostFixture;
let repo: EngineRepository;
beforeEach(() => {
  host = makeHostFixture();
  repo = makeEngineRepository();
});
afterEach(() => {
  host.cleanup();
  repo.remove();
});

const hasRestic = () => {
  try {
    execFileSync('restic', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
};
const resticTest = (name: string, fn: () => Promise<void>) => (hasRestic() ? hostTest() : test.skip)(name, fn, 120_000);
const ctx = () => makeContext(host.root, { log: () => undefined });

/** A victim directory outside the root, and a backup (made by hand, as another host could) of `source`. */
async function pushedByHand(source: string, sha256: string) {
  repo.restic(['init']);
  const tags = ['hoststore', 'hs-kind=directory', 'hs-project=app', 'hs-storage=data', 'hs-snapshot=s1'];
  tags.push(`hs-sha256=${sha256}`, 'hs-checksum=full', 'hs-size=0');
  repo.restic(['backup', '-q', source, ...tags.flatMap((t) => ['--tag', t])]);
  const [entry] = await listBackups(ctx(), repo.record);
  return entry;
}

function victimDir(): string {
  const victim = path.join(repo.dir, 'victim');
  fs.mkdirSync(victim);
  fs.writeFileSync(path.join(victim, 'important.txt'), 'precious\n');
  return victim;
}

resticTest('a recorded path with `..` is refused and the directory it names is left alone', async () => {
  const victim = victimDir();
  const source = path.join(repo.dir, 'src');
  fs.mkdirSync(source);
  fs.writeFileSync(path.join(source, 'f'), 'x');
  const entry = await pushedByHand(source, '0'.repeat(64));
  // What a snapshot whose `paths` were rewritten in the repository reads as.
  const crafted = { ...entry, path: `/../../../../../../../../..${victim}` };
  const target = path.join(host.root, 'projects', 'app', 'directories', 'copy');
  await expect(restoreBackupTo(ctx(), repo.record, crafted, target)).rejects.toThrow(/path/);
  expect(fs.readFileSync(path.join(victim, 'important.txt'), 'utf8')).toBe('precious\n');
  expect(fs.existsSync(target)).toBe(false);
});

resticTest('a backup of a symlink is refused: the new storage is never a link out of the root', async () => {
  const victim = victimDir();
  const source = path.join(repo.dir, 'src');
  fs.mkdirSync(source);
  fs.symlinkSync(victim, path.join(source, 'link'));
  const entry = await pushedByHand(path.join(source, 'link'), (await checksum(victim)).sha256);
  const target = path.join(host.root, 'projects', 'app', 'directories', 'copy');
  await expect(restoreBackupTo(ctx(), repo.record, entry, target)).rejects.toThrow(/no directory|symlink|link/);
  expect(fs.lstatSync(target, { throwIfNoEntry: false })).toBeUndefined();
  expect(fs.readdirSync(victim)).toEqual(['important.txt']);
});

test('a backup whose project or storage tag is no name is not one of ours (it would become a path)', () => {
  const snapshot = (project: string, storage = 'data') => ({
    id: 'a'.repeat(64),
    paths: ['/var/lib/hoststore/projects/app/directories/data'],
    tags: ['hoststore', 'hs-kind=directory', `hs-project=${project}`, `hs-storage=${storage}`, 'hs-snapshot=s1'].concat(
      [`hs-sha256=${'0'.repeat(64)}`, 'hs-checksum=full', 'hs-size=0'],
    ),
  });
  expect(entryOf(snapshot('app'))).toMatchObject({ project: 'app', storage: 'data' });
  expect(entryOf(snapshot('app/directories/victim'))).toBeUndefined();
  expect(entryOf(snapshot('..'))).toBeUndefined();
  expect(entryOf(snapshot('app', '../x'))).toBeUndefined();
});

resticTest(
  'an image that dumps bigger than its hs-size stops at that size: a lying backup never fills the root',
  async () => {
    repo.restic(['init']);
    // 64 MiB of one repeated block: deduplicated, the repository holds about 1 MiB of it.
    const source = path.join(repo.dir, 'disk.img');
    const block = Buffer.alloc(1 << 20);
    for (let i = 0; i < block.length; i += 1) block[i] = (i * 7 + 1) % 251;
    fs.writeFileSync(source, Buffer.concat(Array.from({ length: 64 }, () => block)));
    const tags = ['hoststore', 'hs-kind=disk', 'hs-project=app', 'hs-storage=data', 'hs-snapshot=s1'];
    tags.push(`hs-sha256=${'0'.repeat(64)}`, 'hs-checksum=extents', `hs-size=${1 << 20}`);
    repo.restic(['backup', '-q', source, ...tags.flatMap((t) => ['--tag', t])]);
    fs.rmSync(source);
    const [entry] = await listBackups(ctx(), repo.record);
    const dir = path.join(host.root, 'disks');
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    let peak = 0;
    const watch = setInterval(() => {
      for (const name of fs.readdirSync(dir).filter((n) => !n.endsWith('.fifo')))
        peak = Math.max(peak, fs.statSync(path.join(dir, name), { throwIfNoEntry: false })?.size ?? 0);
    }, 5);
    try {
      await expect(restoreBackupTo(ctx(), repo.record, entry, path.join(dir, 'copy.img'))).rejects.toThrow(
        /bigger than|more than/,
      );
    } finally {
      clearInterval(watch);
    }
    expect(peak).toBeLessThanOrEqual(1 << 20);
    expect(fs.readdirSync(dir)).toEqual([]);
  },
);

test('control characters from the repository never reach a terminal or the journal', () => {
  const snapshot = (local: string, hostname = 'host-1') => ({
    id: 'a'.repeat(64),
    hostname,
    paths: ['/var/lib/hoststore/projects/app/directories/data'],
    tags: ['hoststore', 'hs-kind=directory', 'hs-project=app', 'hs-storage=data', `hs-snapshot=${local}`].concat([
      `hs-sha256=${'0'.repeat(64)}`,
      'hs-checksum=full',
      'hs-size=0',
    ]),
  });
  expect(entryOf(snapshot('data-20260101T000000Z'))).toMatchObject({ snapshot: 'data-20260101T000000Z' });
  expect(entryOf(snapshot('s1)\n2026-01-01T00:00:00.000Z storage delete (forged'))).toBeUndefined();
  expect(entryOf(snapshot('s1', 'evil\u001b[2Jhost'))?.host).toBe('evil?[2Jhost');
});

test('a backup whose hs-size is negative is not one of ours', () => {
  const snapshot = (size: string) => ({
    id: 'a'.repeat(64),
    paths: ['/var/lib/hoststore/disks/data.img'],
    tags: ['hoststore', 'hs-kind=disk', 'hs-project=app', 'hs-storage=data', 'hs-snapshot=s1'].concat([
      `hs-sha256=${'0'.repeat(64)}`,
      'hs-checksum=extents',
      `hs-size=${size}`,
    ]),
  });
  expect(entryOf(snapshot('1048576'))).toMatchObject({ size: 1048576 });
  expect(entryOf(snapshot('-1099511627776'))).toBeUndefined();
});
