/**
 * A snapshot's copy of an image in one pass: each data window is read once, hashed exactly as
 * `checksum()` hashes it, and written to the new file (all-zero windows and holes stay holes), with the
 * reads and writes (libuv's pool) and the hashing (openssl's process, see stream-digest.ts) overlapping.
 */
import * as fs from 'node:fs';
import { WINDOW, dataExtents, dataWindows } from './data-windows.js';
import { streamDigest, type StreamDigest } from './stream-digest.js';

/** Windows read at once (where they are contiguous): large reads keep the disk streaming. */
const CHUNK_WINDOWS = 4;
/** Chunks read ahead of the hash, and chunks being written behind it; each holds one buffer. */
const READS_AHEAD = 4;
const WRITES_BEHIND = 4;
const PROGRESS_EVERY_MS = 1000;
const ZERO_WINDOW = Buffer.alloc(WINDOW);

/** The copy did not finish within its `timeoutMs`. */
export class CopyTimedOut extends Error {
  constructor(timeoutMs: number) {
    super(`the copy had not finished after ${timeoutMs} ms`);
    this.name = 'CopyTimedOut';
  }
}

export interface CopyAndHashOptions {
  /** Stop (CopyTimedOut) when the copy is not done after this long; in-flight I/O is left to finish in the background. */
  readonly timeoutMs?: number;
  /** Called about every second: data bytes copied so far and in all. */
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
}

type Extent = readonly [number, number];

/**
 * Copies the image `source` to `target` (created exclusively, 0600, same size, sparse) and returns the
 * SHA-256 that `checksum(source)` would. The source is read once. On failure or timeout `target` is
 * removed (once nothing writes to it any more) and the error thrown.
 */
export async function copyAndHash(
  source: string,
  target: string,
  options: CopyAndHashOptions = {},
): Promise<{ sha256: string; method: 'extents' | 'full' }> {
  let timer: NodeJS.Timeout | undefined;
  const expired =
    options.timeoutMs === undefined
      ? undefined
      : new Promise<never>((_, reject) => {
          const ms = options.timeoutMs ?? 0;
          timer = setTimeout(() => reject(new CopyTimedOut(ms)), Math.max(0, ms));
        });
  expired?.catch(() => undefined);
  const within = <T>(step: Promise<T>): Promise<T> => (expired ? Promise.race([step, expired]) : step);

  const opening = { source: fs.promises.open(source, 'r'), target: undefined as Promise<fs.promises.FileHandle> | undefined };
  opening.source.catch(() => undefined);
  let ok = false;
  let digest: StreamDigest | undefined;
  try {
    const src = await within(opening.source);
    const { size } = await within(src.stat());
    // Inside the caller's freeze (or under the root lock) the extents hold still until the copy ends.
    const extents = await within(dataExtents(source));
    opening.target = fs.promises.open(target, 'wx', 0o600);
    opening.target.catch(() => undefined);
    const dst = await within(opening.target);
    await within(dst.truncate(size));
    digest = await within(streamDigest());
    const sha256 = await within(pump(src, dst, digest, size, extents, options.onProgress, within));
    ok = true;
    return { sha256, method: extents ? 'extents' : 'full' };
  } finally {
    clearTimeout(timer);
    if (!ok) digest?.abort();
    // FileHandle.close waits for the handle's pending reads and writes; after a timeout that runs in the
    // background, so that the caller can thaw at once, and the partial target goes only after it.
    const cleanup = closeAll(opening, ok ? undefined : target);
    if (ok) await cleanup;
    else cleanup.catch(() => undefined);
  }
}

async function closeAll(
  opening: { source: Promise<fs.promises.FileHandle>; target?: Promise<fs.promises.FileHandle> },
  removeTarget: string | undefined,
): Promise<void> {
  const src = await opening.source.catch(() => undefined);
  const dst = await opening.target?.catch(() => undefined);
  const made = dst && removeTarget ? await dst.stat().catch(() => undefined) : undefined;
  await Promise.allSettled([src?.close(), dst?.close()]);
  if (made && removeTarget) {
    // Only the file this copy made: the caller may already have removed it.
    const now = fs.statSync(removeTarget, { throwIfNoEntry: false });
    if (now && now.ino === made.ino && now.dev === made.dev) fs.rmSync(removeTarget, { force: true });
  }
}

/** Reads, hashes and writes every data window in order; resolves to the hex digest. */
async function pump(
  src: fs.promises.FileHandle,
  dst: fs.promises.FileHandle,
  digest: StreamDigest,
  size: number,
  extents: Extent[] | undefined,
  onProgress: CopyAndHashOptions['onProgress'],
  within: <T>(step: Promise<T>) => Promise<T>,
): Promise<string> {
  // Its failure (openssl gone) shows in the windows' updates and in the digest.
  digest.update(Buffer.from(`size:${size}\0`)).catch(() => undefined);
  const windows = dataWindows(size, extents);
  const chunks = chunksOf(windows);
  const ranges = dataRanges(extents, size);
  const free: Buffer[] = Array.from({ length: READS_AHEAD + WRITES_BEHIND }, () => Buffer.allocUnsafe(CHUNK_WINDOWS * WINDOW));
  type Read = { chunk: Chunk; buffer: Buffer; bytes: number } | { error: unknown };
  const reads: Array<Promise<Read>> = [];
  const writes = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let nextRead = 0;
  let done = 0;
  let reported = Date.now();

  for (let c = 0; c < chunks.length; c += 1) {
    // Settled, never rejected: a read or write that fails while nothing awaits it is kept, not unhandled.
    while (reads.length < READS_AHEAD && nextRead < chunks.length && free.length > 0) {
      const chunk = chunks[nextRead++];
      const buffer = free.pop()!;
      reads.push(
        readFully(src, buffer, chunk.count * WINDOW, chunk.first * WINDOW).then(
          (bytes) => ({ chunk, buffer, bytes }),
          (error: unknown) => ({ error }),
        ),
      );
    }
    const read = await within(reads.shift()!);
    if ('error' in read) throw read.error;
    const { chunk, buffer, bytes } = read;
    const base = chunk.first * WINDOW;
    const toWrite: Array<[number, number]> = [];
    const hashed: Array<Promise<void>> = [];
    for (let i = 0; i < chunk.count && i * WINDOW < bytes; i += 1) {
      const data = buffer.subarray(i * WINDOW, Math.min((i + 1) * WINDOW, bytes));
      if (data.equals(ZERO_WINDOW.subarray(0, data.length))) continue;
      const offset = Buffer.alloc(8);
      offset.writeBigUInt64BE(BigInt(base + i * WINDOW));
      hashed.push(digest.update(offset), digest.update(data));
      ranges.take(base + i * WINDOW, base + i * WINDOW + data.length, toWrite);
    }
    // The buffer is reused once both the file and the digest are done with it.
    const write: Promise<void> = Promise.all([writeRanges(dst, buffer, base, toWrite), ...hashed]).then(
      () => {
        writes.delete(write);
        free.push(buffer);
      },
      (error: unknown) => {
        writes.delete(write);
        failure ??= { error };
      },
    );
    writes.add(write);
    while (writes.size >= WRITES_BEHIND && !failure) await within(Promise.race(writes));
    if (failure) throw failure.error;
    done += chunk.count * WINDOW;
    if (onProgress && Date.now() - reported >= PROGRESS_EVERY_MS) {
      reported = Date.now();
      onProgress(done, windows.length * WINDOW);
    }
  }
  await within(Promise.all(writes));
  if (failure) throw (failure as { error: unknown }).error;
  return digest.digest();
}

interface Chunk {
  readonly first: number;
  readonly count: number;
}

/** Runs of consecutive windows, at most CHUNK_WINDOWS long. */
function chunksOf(windows: readonly number[]): Chunk[] {
  const chunks: Chunk[] = [];
  for (const w of windows) {
    const last = chunks[chunks.length - 1];
    if (last && last.first + last.count === w && last.count < CHUNK_WINDOWS) chunks[chunks.length - 1] = { ...last, count: last.count + 1 };
    else chunks.push({ first: w, count: 1 });
  }
  return chunks;
}

/**
 * The parts of the file that hold data (its extents; all of it when they are unknown), handed out in
 * ascending order: a window is written only where the source has data, so the copy never allocates more
 * than the source (the space check before a snapshot counts the source's allocated bytes).
 */
function dataRanges(extents: Extent[] | undefined, size: number) {
  const sorted = [...(extents ?? [[0, size] as const])].sort((a, b) => a[0] - b[0]);
  let next = 0;
  return {
    /** Appends to `into` the data ranges within [start, end), merged with the last one where they touch. */
    take(start: number, end: number, into: Array<[number, number]>): void {
      while (next < sorted.length && sorted[next][0] + sorted[next][1] <= start) next += 1;
      for (let i = next; i < sorted.length && sorted[i][0] < end; i += 1) {
        const from = Math.max(start, sorted[i][0]);
        const to = Math.min(end, sorted[i][0] + sorted[i][1]);
        if (to <= from) continue;
        const last = into[into.length - 1];
        if (last && last[0] + last[1] === from) last[1] += to - from;
        else into.push([from, to - from]);
      }
    },
  };
}

async function readFully(fh: fs.promises.FileHandle, buffer: Buffer, length: number, position: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buffer, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

async function writeRanges(
  fh: fs.promises.FileHandle,
  buffer: Buffer,
  base: number,
  ranges: ReadonlyArray<readonly [number, number]>,
): Promise<void> {
  for (const [position, length] of ranges) {
    let put = 0;
    while (put < length) {
      const { bytesWritten } = await fh.write(buffer, position - base + put, length - put, position + put);
      put += bytesWritten;
    }
  }
}
