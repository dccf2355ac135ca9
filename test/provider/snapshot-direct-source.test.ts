/**
 * The single pass reads its source directly from the disk where it can: the bytes are the file's
 * (data still only in the page cache included, and a last block cut short), and the same through the
 * page cache.
 */
import * as fs from 'node:fs';
import { openSource } from '../../provider/snapshots/direct-source.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => host.cleanup());

const MiB = 1 << 20;

/** 3 MiB + 1,000 bytes of a pattern, written through the page cache and not synced. */
function unsyncedFile(file: string): Buffer {
  const content = Buffer.from(Array.from({ length: 3 * MiB + 1000 }, (_, i) => (i * 7 + 3) % 253));
  fs.writeFileSync(file, content, { mode: 0o600 });
  return content;
}

async function readAll(file: string, size: number, direct?: boolean): Promise<{ direct: boolean; bytes: Buffer }> {
  const { reader, pool } = await openSource(file, size, 2, 2 * MiB, { direct });
  try {
    const parts: Buffer[] = [];
    for (let at = 0; at < size; at += 2 * MiB) {
      const buffer = pool.buffers[(at / (2 * MiB)) % 2];
      const got = await reader.read(buffer, 2 * MiB, at);
      parts.push(Buffer.from(buffer.subarray(0, got)));
    }
    return { direct: reader.direct, bytes: Buffer.concat(parts) };
  } finally {
    await reader.close();
  }
}

hostTest()('a file on the root is read directly, unsynced data and a short last block included', async () => {
  // GIVEN a file whose data is only in the page cache, and whose size is no multiple of a block
  const file = host.path('image.img');
  const content = unsyncedFile(file);
  // WHEN read for the single pass
  const read = await readAll(file, content.length);
  // THEN directly (the root here is ext4), and its bytes are the file's, to the last one
  expect(read.direct).toBe(true);
  expect(read.bytes.equals(content)).toBe(true);
});

hostTest()('through the page cache the bytes are the same', async () => {
  const file = host.path('image.img');
  const content = unsyncedFile(file);
  const read = await readAll(file, content.length, false);
  expect(read.direct).toBe(false);
  expect(read.bytes.equals(content)).toBe(true);
});

hostTest()('an empty file reads as nothing', async () => {
  const file = host.path('empty.img');
  fs.writeFileSync(file, '');
  const read = await readAll(file, 0);
  expect(read.bytes.length).toBe(0);
});

hostTest()(
  "a pass's shared memory is reused by the next one once its reads are over, never while they run",
  async () => {
    const file = `${host.root}/reuse.img`;
    const size = unsyncedFile(file).length;
    const first = await openSource(file, size, 2, 2 * MiB);
    const during = await openSource(file, size, 2, 2 * MiB);
    expect(during.pool.memory).not.toBe(first.pool.memory);
    await first.reader.close();
    await during.reader.close();
    const next = await openSource(file, size, 2, 2 * MiB);
    expect([first.pool.memory, during.pool.memory]).toContain(next.pool.memory);
    await next.reader.close();
  },
);
