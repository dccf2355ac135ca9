/**
 * A snapshot's copy in one pass: the checksum computed while copying (on a worker thread) is the one
 * `checksum()` computes (and earlier builds recorded) for the same content, with openssl's digest and with Node's; the copy
 * is byte for byte the source, keeps its holes and allocates no more than the source.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyAndHash, startCopyAndHash } from '../../provider/snapshots/copy-and-hash.js';
import { checksum } from '../../provider/snapshots/snapshots.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => {
  delete process.env.HOSTSTORE_TOOL_PATH;
  host.cleanup();
});

const MiB = 1 << 20;

/** A directory of symlinks to the real `tools`, for HOSTSTORE_TOOL_PATH. */
function toolsDir(tools: string[]): string {
  const dir = fs.mkdtempSync(path.join(host.root, 'tools-'));
  for (const tool of tools)
    fs.symlinkSync(
      execFileSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(),
      path.join(dir, tool),
    );
  return dir;
}

/**
 * The checksum's definition, written out independently: the size, then every non-zero 1 MiB window
 * (aligned to the file) with its offset as 8 bytes big-endian, reading the whole file.
 */
function referenceChecksum(file: string): string {
  const hash = createHash('sha256');
  const content = fs.readFileSync(file);
  hash.update(`size:${content.length}\0`);
  for (let at = 0; at < content.length; at += MiB) {
    const window = content.subarray(at, Math.min(at + MiB, content.length));
    if (window.every((b) => b === 0)) continue;
    const offset = Buffer.alloc(8);
    offset.writeBigUInt64BE(BigInt(at));
    hash.update(offset);
    hash.update(window);
  }
  return hash.digest('hex');
}

/** A sparse image with every case a window can be: data, allocated zeros, a hole, data across windows, a short last window. */
function awkwardImage(file: string): void {
  const size = 48 * MiB + 12_345;
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.ftruncateSync(fd, size);
    const pattern = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * seed + 7) % 251));
    fs.writeSync(fd, pattern(MiB, 13), 0, MiB, 0); // one full window
    fs.writeSync(fd, Buffer.alloc(3 * MiB), 0, 3 * MiB, 4 * MiB); // allocated, all zero: hashed as a hole
    fs.writeSync(fd, pattern(2 * MiB + 4096, 31), 0, 2 * MiB + 4096, 10 * MiB + 512 * 1024); // across three windows
    fs.writeSync(fd, pattern(40 * 1024, 5), 0, 40 * 1024, 47 * MiB + 100_000); // into the short last window
    fs.writeSync(fd, pattern(8, 3), 0, 8, size - 8); // its very end
  } finally {
    fs.closeSync(fd);
  }
}

hostTest('filefrag')(
  'the single pass copies byte for byte, sparse, and hashes as checksum() and the definition do',
  async () => {
    // GIVEN an image holding data, allocated zeros and holes
    const source = host.path('source.img');
    awkwardImage(source);
    const expected = referenceChecksum(source);
    // WHEN it is copied in one pass
    const target = host.path('copy.img');
    const sum = await copyAndHash(source, target);
    // THEN its checksum is the definition's, checksum()'s of the source and of the copy
    expect(sum).toEqual({ sha256: expected, method: 'extents' });
    expect((await checksum(source)).sha256).toBe(expected);
    expect((await checksum(target)).sha256).toBe(expected);
    // AND the copy is the source byte for byte, private, and allocates no more than the source
    expect(fs.readFileSync(target).equals(fs.readFileSync(source))).toBe(true);
    expect(fs.statSync(target).mode & 0o777).toBe(0o600);
    expect(fs.statSync(target).blocks).toBeLessThanOrEqual(fs.statSync(source).blocks);
    // AND the allocated zeros stayed a hole
    expect(fs.statSync(target).blocks * 512).toBeLessThan(5 * MiB);
  },
);

hostTest('filefrag')("without openssl, Node's hash gives the same checksum", async () => {
  const source = host.path('source.img');
  awkwardImage(source);
  // GIVEN a search path with filefrag and no openssl
  process.env.HOSTSTORE_TOOL_PATH = toolsDir(['filefrag']);
  // WHEN copied and hashed, and hashed again
  const sum = await copyAndHash(source, host.path('copy.img'));
  // THEN the same as the definition
  expect(sum.sha256).toBe(referenceChecksum(source));
  expect((await checksum(host.path('copy.img'))).sha256).toBe(sum.sha256);
});

hostTest('filefrag')(
  'a hash slower than the copy lets the copy go on and catches up from the copy: same checksum',
  async () => {
    // GIVEN an image with 96 MiB of data after the awkward part (more than the hash holds in memory)
    const source = host.path('source.img');
    awkwardImage(source);
    const fd = fs.openSync(source, 'r+');
    for (let i = 0; i < 96; i += 1) fs.writeSync(fd, Buffer.alloc(MiB, (i % 250) + 1), 0, MiB, (50 + i) * MiB);
    fs.closeSync(fd);
    // WHEN copied while the hash may not start yet
    let startHash!: () => void;
    const holdHash = new Promise<void>((resolve) => (startHash = resolve));
    const pass = startCopyAndHash(source, host.path('copy.img'), { holdHash });
    // THEN the copy finishes all the same (it never waits for the hash)
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 20_000)));
    expect(await Promise.race([pass.copied.then(() => 'copied'), late])).toBe('copied');
    clearTimeout(timer);
    // AND once the hash runs, it reads back what it no longer holds: the checksum is the definition's
    startHash();
    expect((await pass.hashed).sha256).toBe(referenceChecksum(source));
    expect(fs.readFileSync(host.path('copy.img')).equals(fs.readFileSync(source))).toBe(true);
  },
);

hostTest('filefrag')('a copy past its time limit stops, throws, and leaves no file behind', async () => {
  // GIVEN an image with 64 MiB of data
  const source = host.path('source.img');
  const fd = fs.openSync(source, 'wx', 0o600);
  for (let i = 0; i < 64; i += 1) fs.writeSync(fd, Buffer.alloc(MiB, i + 1), 0, MiB, i * MiB);
  fs.closeSync(fd);
  // WHEN it may take no time at all
  const target = host.path('copy.img');
  await expect(copyAndHash(source, target, { timeoutMs: 0 })).rejects.toThrow(/had not finished after 0 ms/);
  // THEN nothing is left once its in-flight I/O is done
  for (let waited = 0; fs.existsSync(target) && waited < 5000; waited += 50)
    await new Promise((r) => setTimeout(r, 50));
  expect(fs.existsSync(target)).toBe(false);
});

hostTest('filefrag')('an existing file at the target is never overwritten', async () => {
  const source = host.path('source.img');
  awkwardImage(source);
  const target = host.path('copy.img');
  fs.writeFileSync(target, 'not yours');
  await expect(copyAndHash(source, target)).rejects.toThrow(/EEXIST/);
  expect(fs.readFileSync(target, 'utf8')).toBe('not yours');
});
