/**
 * `list` and `status` with usage: on a real root holding a mounted ext4 disk with data, an unmounted xfs
 * disk and a directory volume, the usage of each (statfs / superblock / none), the root's space (checked
 * against df and stat), the text (USED column, the root's line, `used:` and `root:`), --json (list stays an
 * array, status gets rootSpace), the remote `read` answer, and 1,000 images listed without a process spawned.
 */
import * as fs from 'node:fs';
import * as crypto from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { listEntries, listWithSpace, statusEntry } from '../../provider/commands/read-data.js';
import { listText, statusText } from '../../provider/commands/list.js';
import { readHosts } from '../../provider/commands/read-hosts.js';
import { readRequest } from '../../provider/remote/serve-read.js';
import { Registry, storageKey } from '../../provider/registry/store.js';
import { imagePath } from '../../src/schema.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { CLI } from '../helpers/cli.js';
import { CONTRACT_VERSION } from '../../src/host-connection.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture('hoststore-usage-');
});
afterEach(() => host.cleanup());

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });

function df(target: string): { size: number; used: number; avail: number } {
  const [size, used, avail] = sh('df', ['-B1', '--output=size,used,avail', target])
    .trim()
    .split('\n')[1]
    .trim()
    .split(/\s+/);
  return { size: Number(size), used: Number(used), avail: Number(avail) };
}

/** GIVEN data (1 GB ext4, mounted for web[1], 64 MiB written), cold (2 GB xfs, unmounted) and files (a directory volume). */
async function threeStorages(): Promise<{ hostPath: string }> {
  const ctx = () => makeContext(host.root, { log: () => undefined });
  await converge(storageHandler, ctx(), storageHandler.validate(storageWire(host.root, { name: 'data' })));
  const mount = mountHandler.validate(mountWire(host.root));
  await converge(mountHandler, ctx(), mount);
  const hostPath = mountWire(host.root).host_path;
  fs.writeFileSync(`${hostPath}/data.bin`, crypto.randomBytes(64 * MiB));
  sh('sync', ['-f', `${hostPath}/data.bin`]);
  await converge(
    storageHandler,
    ctx(),
    storageHandler.validate(storageWire(host.root, { name: 'cold', filesystem: 'xfs', size_gb: '2' })),
  );
  await converge(
    storageHandler,
    ctx(),
    storageHandler.validate(storageWire(host.root, { kind: 'directory', name: 'files', size_gb: '', filesystem: '' })),
  );
  return { hostPath };
}

hostTest('mkfs.ext4', 'mkfs.xfs')(
  'list: usage of each storage and the root space, as df and stat see them',
  async () => {
    const { hostPath } = await threeStorages();
    // WHEN listed
    const { entries, roots } = listWithSpace({ root: host.root });
    const byName = Object.fromEntries(entries.map((e) => [e.name, e]));
    // THEN the mounted disk shows what df shows at its host path
    const seen = df(hostPath);
    expect(byName.data.usage).toEqual({
      sizeBytes: seen.size,
      usedBytes: seen.used,
      freeBytes: seen.avail,
      source: 'mounted',
    });
    expect(byName.data.usage!.usedBytes).toBeGreaterThanOrEqual(64 * MiB);
    // AND the unmounted one its superblock; the directory volume has none
    expect(byName.cold.usage).toMatchObject({ source: 'superblock' });
    expect(byName.cold.usage!.sizeBytes).toBeGreaterThan(1.9 * GiB);
    expect(byName.cold.usage!.usedBytes).toBeLessThan(64 * MiB);
    expect(byName.files.usage).toBeUndefined();
    // AND the root's space: the host filesystem as df sees it, nominal = 1 + 2 GiB, allocated = the images' blocks
    const rootDf = df(host.root);
    const blocks = (file: string) => Number(sh('stat', ['-c', '%b', file]).trim()) * 512;
    const allocated =
      blocks(imagePath(host.root, 'disk', 'app', 'data')) + blocks(imagePath(host.root, 'disk', 'app', 'cold'));
    expect(roots).toEqual([
      {
        root: host.root,
        sizeBytes: rootDf.size,
        // The host filesystem is shared with everything else running: its free space moves between two reads.
        freeBytes: expect.any(Number),
        nominalBytes: 3 * GiB,
        allocatedBytes: allocated,
        overcommit: (3 * GiB) / rootDf.size,
        storageCount: 3,
      },
    ]);
    expect(Math.abs(roots[0].freeBytes - rootDf.avail)).toBeLessThan(256 * MiB);
    expect(listEntries({ root: host.root }).map((e) => e.usage)).toEqual(entries.map((e) => e.usage));

    // AND the text has a USED column and ends with the root's line
    const text = listText(entries, [host.root], roots).split('\n');
    expect(text[0]).toMatch(/\bALLOCATED\s+USED\s+STATE\b/);
    expect(text.find((l) => l.startsWith('data '))).toMatch(/ 6\d\.\d MiB of 9\d\d\.\d MiB \((7|8)%\) +mounted /);
    expect(text.find((l) => l.startsWith('files '))).toMatch(/ - +- +available /);
    expect(text[text.length - 1]).toMatch(
      new RegExp(
        `^${host.root}: \\d+\\.\\d [KMGT]iB free of \\d+\\.\\d [KMGT]iB; 3 storages promise 3\\.0 GiB \\(\\d+\\.\\d\\d× the filesystem\\), \\d+\\.\\d [KM]iB allocated$`,
      ),
    );
    // AND without the roots' space (a host of an older version) the table is all there is
    expect(listText(entries, [host.root]).split('\n')).toHaveLength(4);
  },
);

hostTest('mkfs.ext4', 'mkfs.xfs')('status: used: and root: lines; --json gets rootSpace', async () => {
  await threeStorages();
  const entry = statusEntry('data', { root: host.root });
  const json = JSON.parse(JSON.stringify(entry));
  expect(json.rootSpace).toMatchObject({ root: host.root, nominalBytes: 3 * GiB, storageCount: 3 });
  expect(json.usage).toMatchObject({ source: 'mounted' });
  const lines = statusText(entry).split('\n');
  expect(lines).toContainEqual(
    expect.stringMatching(/^used: +6\d\.\d MiB of 9\d\d\.\d MiB \(\d+%\), \d+\.\d MiB free \(mounted\)$/),
  );
  expect(lines).toContainEqual(
    expect.stringMatching(new RegExp(`^root: +${host.root}: .* free of .*; 3 storages promise 3\\.0 GiB \\(`)),
  );
  const cold = statusText(statusEntry('cold', { root: host.root })).split('\n');
  expect(cold).toContainEqual(expect.stringMatching(/^used: .*\(superblock, as of its last unmount\)$/));
  const files = statusText(statusEntry('files', { root: host.root })).split('\n');
  expect(files).toContainEqual('used:           -');
});

hostTest('mkfs.ext4', 'mkfs.xfs')(
  'hosts: the read request asks for space; the answer and the text carry it',
  async () => {
    await threeStorages();
    expect(readRequest({ op: 'list', roots: [host.root], json: true, space: true }).space).toBe(true);
    expect(() => readRequest({ op: 'list', roots: [host.root], json: true, space: 'yes' })).toThrow(
      /^read request: space must be true or false$/,
    );
    // What a storage host answers (`hoststore remote`, the request on stdin): the entries and the roots' space
    const request = { hoststore: CONTRACT_VERSION, command: 'read', op: 'list', roots: [host.root], json: true };
    const remote = (extra: object) =>
      spawnSync(process.execPath, [CLI, 'remote'], {
        input: JSON.stringify({ ...request, ...extra }),
        encoding: 'utf8',
      });
    const withSpace = JSON.parse(remote({ space: true }).stdout);
    expect(withSpace.entries.map((e: { name: string }) => e.name).sort()).toEqual(['cold', 'data', 'files']);
    expect(withSpace.roots).toEqual([expect.objectContaining({ root: host.root, nominalBytes: 3 * GiB })]);
    const plain = JSON.parse(remote({}).stdout);
    expect(Array.isArray(plain)).toBe(true);
    expect(plain.find((e: { name: string }) => e.name === 'data').usage).toMatchObject({ source: 'mounted' });
    // The text of a fleet read (here: this machine as one of the app's hosts) ends each root with its line
    const out: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => (out.push(chunk), true)) as typeof process.stdout.write;
    try {
      const hosts = [{ name: 'local', roots: [host.root] }];
      await readHosts('list', { root: host.root, json: false, yes: false, force: false, hosts });
      await readHosts('list', { root: host.root, json: true, yes: false, force: false, hosts });
    } finally {
      process.stdout.write = write;
    }
    expect(out[0]).toMatch(
      new RegExp(`^host local:\\nNAME .*USED.*\\n(.*\\n){3}${host.root}: .* 3 storages promise 3\\.0 GiB`),
    );
    const items = JSON.parse(out[1]);
    expect(items.map((i: { name: string; host: string }) => `${i.host}/${i.name}`).sort()).toEqual([
      'local/cold',
      'local/data',
      'local/files',
    ]);
  },
);

hostTest('mkfs.ext4', 'strace')(
  '1,000 images: list --json spawns nothing (one mount table read, one read per image)',
  () => {
    // GIVEN 1,000 registered disks, each an ext4 superblock in a 1 GiB sparse file
    const seed = host.path('seed.img');
    fs.writeFileSync(seed, '');
    fs.truncateSync(seed, 64 * MiB);
    sh('mkfs.ext4', ['-q', '-F', seed]);
    const head = Buffer.alloc(4096);
    const fd = fs.openSync(seed, 'r');
    fs.readSync(fd, head, 0, head.length, 0);
    fs.closeSync(fd);
    fs.rmSync(seed);
    const now = new Date().toISOString();
    const record = (name: string) => ({
      kind: 'disk',
      name,
      project: 'app',
      stack: 'bench',
      state: 'ready',
      sizeGb: 1,
      filesystem: 'ext4',
      shared: false,
      removalPolicy: 'retain',
      path: imagePath(host.root, 'disk', 'app', name),
      createdAt: now,
      updatedAt: now,
    });
    const registry = new Registry(host.root);
    registry.put('storage', storageKey('disk', 'app', 'd0'), record('d0'));
    const file = `${host.root}/registry/storage.json`;
    const collection = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.mkdirSync(`${host.root}/disks`, { recursive: true });
    for (let i = 0; i < 1000; i += 1) {
      const name = `d${i}`;
      collection.records[storageKey('disk', 'app', name)] = record(name);
      const image = imagePath(host.root, 'disk', 'app', name);
      fs.writeFileSync(image, head);
      fs.truncateSync(image, GiB);
    }
    fs.writeFileSync(file, JSON.stringify(collection));
    // WHEN listed under strace, every execve recorded
    const trace = host.path('trace');
    const started = Date.now();
    const run = spawnSync(
      'strace',
      ['-f', '-qq', '-e', 'trace=execve', '-o', trace, process.execPath, CLI, 'list', '--json', '--root', host.root],
      {
        encoding: 'utf8',
        maxBuffer: 64 * MiB,
      },
    );
    const elapsed = Date.now() - started;
    // THEN every item has its usage and the only program run is node itself
    expect(run.status).toBe(0);
    const items = JSON.parse(run.stdout) as Array<{ usage?: { source: string } }>;
    expect(items).toHaveLength(1000);
    expect(items.every((i) => i.usage?.source === 'superblock')).toBe(true);
    const execs = fs
      .readFileSync(trace, 'utf8')
      .split('\n')
      .filter((l) => /execve\(/.test(l));
    expect(execs).toEqual([expect.stringContaining(process.execPath)]);
    process.stderr.write(`list --json of 1,000 images under strace: ${elapsed} ms\n`);
  },
);
