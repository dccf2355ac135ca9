/**
 * A snapshot's copy of an image in one pass over the source: each data window is read once, written to
 * the new file (all-zero windows and holes stay holes) and hashed exactly as `checksum()` hashes it. The
 * reads and writes run on libuv's pool, the hash in openssl's process (stream-digest.ts), all at once.
 */
import * as fs from 'node:fs';
import { WINDOW, dataExtents, dataWindows } from './data-windows.js';
import { streamDigest, type StreamDigest } from './stream-digest.js';

/** Windows read at once (where they are contiguous): large reads keep the disk streaming. */
const CHUNK_WINDOWS = 4;
/** Chunks read ahead of the writes, chunks being written, and written chunks waiting for the hash; one buffer each. */
const READS_AHEAD = 3;
const WRITES_BEHIND = 3;
const HASH_HOLD = 4;
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
  /** Stop the copy (CopyTimedOut) when it is not done after this long; in-flight I/O finishes in the background. */
  readonly timeoutMs?: number;
  /** Called at the start and about every second: data bytes copied so far and in all. */
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface ImageChecksum {
  readonly sha256: string;
  readonly method: 'extents' | 'full';
}

export interface SinglePass {
  /** Settles when the target holds all the data (the freeze may end then). */
  readonly copied: Promise<void>;
  /** Settles with the checksum once the hash has caught up with the copy. */
  readonly hashed: Promise<ImageChecksum>;
}

type Extent = readonly [number, number];

/**
 * Starts copying the image `source` to `target` (created exclusively, 0600, same size, sparse), hashing
 * it as `checksum(source)` does. The hash uses each window while the copy still holds it in memory; when
 * the hash falls behind (a slow CPU), the copy goes on at disk speed and the hash catches up later from
 * the target's pages just written, so a frozen filesystem waits for the copy only. On failure or
 * timeout both promises reject and `target` is removed once nothing writes to it any more.
 */
export function startCopyAndHash(source: string, target: string, options: CopyAndHashOptions = {}): SinglePass {
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

  const opening = {
    source: fs.promises.open(source, 'r'),
    target: undefined as Promise<fs.promises.FileHandle> | undefined,
  };
  opening.source.catch(() => undefined);
  let digest: StreamDigest | undefined;
  let hashing: Promise<string> | undefined;
  let method: ImageChecksum['method'] = 'full';

  const copied = (async () => {
    const src = await within(opening.source);
    const { size } = await within(src.stat());
    // Inside the caller's freeze (or under the root lock) the extents hold still until the copy ends.
    const extents = await within(dataExtents(source));
    method = extents ? 'extents' : 'full';
    // Read and write: the hash may read back what the copy wrote.
    opening.target = fs.promises.open(target, 'wx+', 0o600);
    opening.target.catch(() => undefined);
    const dst = await within(opening.target);
    await within(dst.truncate(size));
    digest = await within(streamDigest());
    const pass = new Pass(src, dst, digest, size, extents, options.onProgress);
    hashing = pass.hash();
    hashing.catch(() => undefined);
    await within(pass.copy(within));
  })().finally(() => clearTimeout(timer));

  const hashed = copied.then(async () => {
    const sha256 = await hashing!;
    await closeAll(opening, undefined);
    return { sha256, method };
  });
  // Both are handled here; callers still get each rejection when they await.
  copied.catch(() => undefined);
  hashed.catch(() => {
    digest?.abort();
    // FileHandle.close waits for the handle's pending reads and writes: after a timeout that runs in
    // the background, so that the caller can thaw at once; the partial target goes only after it.
    closeAll(opening, target).catch(() => undefined);
  });
  return { copied, hashed };
}

/** The single pass, start to end: `await copied` then `hashed`. */
export async function copyAndHash(
  source: string,
  target: string,
  options: CopyAndHashOptions = {},
): Promise<ImageChecksum> {
  const pass = startCopyAndHash(source, target, options);
  await pass.copied;
  return pass.hashed;
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

interface Chunk {
  readonly first: number;
  readonly count: number;
}

/** A written chunk for the hash: its non-zero windows ([offset in chunk, length]), and its buffer if still held. */
interface Written {
  readonly chunk: Chunk;
  readonly windows: ReadonlyArray<readonly [number, number]>;
  readonly buffer?: Buffer;
}

class Pass {
  private readonly chunks: Chunk[];
  private readonly free: Buffer[];
  private readonly written = new Map<number, Written>();
  private wake: (() => void) | undefined;
  private held = 0;

  constructor(
    private readonly src: fs.promises.FileHandle,
    private readonly dst: fs.promises.FileHandle,
    private readonly digest: StreamDigest,
    private readonly size: number,
    private readonly extents: Extent[] | undefined,
    private readonly onProgress: CopyAndHashOptions['onProgress'],
  ) {
    this.chunks = chunksOf(dataWindows(size, extents));
    this.free = Array.from({ length: READS_AHEAD + WRITES_BEHIND + HASH_HOLD }, () =>
      Buffer.allocUnsafe(CHUNK_WINDOWS * WINDOW),
    );
  }

  /** Reads, writes and hands on every chunk in order; settles when all are written. */
  async copy(within: <T>(step: Promise<T>) => Promise<T>): Promise<void> {
    const ranges = dataRanges(this.extents, this.size);
    type Read = { chunk: Chunk; buffer: Buffer; bytes: number } | { error: unknown };
    const reads: Array<Promise<Read>> = [];
    const writes = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    let nextRead = 0;
    let done = 0;
    const total = this.chunks.reduce((sum, k) => sum + k.count, 0) * WINDOW;
    // Told at once, then every second: a copy shorter than a second still shows it started.
    this.onProgress?.(0, total);
    let reported = Date.now();
    for (let c = 0; c < this.chunks.length; c += 1) {
      // Settled, never rejected: a read or write that fails while nothing awaits it is kept, not unhandled.
      while (reads.length < READS_AHEAD && nextRead < this.chunks.length && this.free.length > 0) {
        const chunk = this.chunks[nextRead++];
        const buffer = this.free.pop()!;
        reads.push(
          readFully(this.src, buffer, chunk.count * WINDOW, chunk.first * WINDOW).then(
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
      const windows: Array<[number, number]> = [];
      for (let i = 0; i < chunk.count && i * WINDOW < bytes; i += 1) {
        const length = Math.min(WINDOW, bytes - i * WINDOW);
        if (buffer.subarray(i * WINDOW, i * WINDOW + length).equals(ZERO_WINDOW.subarray(0, length))) continue;
        windows.push([i * WINDOW, length]);
        ranges.take(base + i * WINDOW, base + i * WINDOW + length, toWrite);
      }
      const write: Promise<void> = writeRanges(this.dst, buffer, base, toWrite).then(
        () => {
          writes.delete(write);
          this.handOn(c, { chunk, windows, buffer });
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
      if (this.onProgress && Date.now() - reported >= PROGRESS_EVERY_MS) {
        reported = Date.now();
        this.onProgress(done, total);
      }
    }
    await within(Promise.all(writes));
    if (failure) throw (failure as { error: unknown }).error;
  }

  /** A written chunk goes to the hash with its buffer while the hash holds few, else without (read back later). */
  private handOn(index: number, written: Written & { buffer: Buffer }): void {
    if (this.held < HASH_HOLD) {
      this.held += 1;
      this.written.set(index, written);
    } else {
      this.free.push(written.buffer);
      this.written.set(index, { chunk: written.chunk, windows: written.windows });
    }
    this.wake?.();
  }

  /** Hashes the written chunks in order; resolves to the hex digest. */
  async hash(): Promise<string> {
    void this.digest.update(Buffer.from(`size:${this.size}\0`)).catch(() => undefined);
    const own = Buffer.allocUnsafe(CHUNK_WINDOWS * WINDOW);
    for (let c = 0; c < this.chunks.length; c += 1) {
      let written = this.written.get(c);
      while (!written) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        written = this.written.get(c);
      }
      this.written.delete(c);
      const base = written.chunk.first * WINDOW;
      // Read back from the target only when the copy ran ahead: its pages were just written, in memory.
      const data = written.buffer ?? own;
      if (!written.buffer && written.windows.length > 0)
        await readFully(this.dst, own, written.chunk.count * WINDOW, base);
      const updates: Array<Promise<void>> = [];
      for (const [at, length] of written.windows) {
        const offset = Buffer.alloc(8);
        offset.writeBigUInt64BE(BigInt(base + at));
        updates.push(this.digest.update(offset), this.digest.update(data.subarray(at, at + length)));
      }
      await Promise.all(updates);
      if (written.buffer) {
        this.held -= 1;
        this.free.push(written.buffer);
      }
    }
    return this.digest.digest();
  }
}

/** Runs of consecutive windows, at most CHUNK_WINDOWS long. */
function chunksOf(windows: readonly number[]): Chunk[] {
  const chunks: Chunk[] = [];
  for (const w of windows) {
    const last = chunks[chunks.length - 1];
    if (last && last.first + last.count === w && last.count < CHUNK_WINDOWS)
      chunks[chunks.length - 1] = { ...last, count: last.count + 1 };
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

async function readFully(
  fh: fs.promises.FileHandle,
  buffer: Buffer,
  length: number,
  position: number,
): Promise<number> {
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
