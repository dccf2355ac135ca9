/**
 * A snapshot's copy of an image in one pass over the source: each data window is read once (directly
 * from the disk where the filesystem allows), written to the new file (all-zero windows and holes stay
 * holes) and hashed exactly as `checksum()` hashes it, in the same memory, on a worker thread
 * (window-hasher.ts). Reads and writes run on libuv's pool, the hash on another core, all at once.
 */
import * as fs from 'node:fs';
import { WINDOW, dataExtents, dataWindows } from './data-windows.js';
import { openSource, type SourceReader } from './direct-source.js';
import { WindowHasher } from './window-hasher.js';

/** Windows read at once (where they are contiguous): large reads keep the disk streaming. */
const CHUNK_WINDOWS = 4;
/**
 * Chunks read ahead of the writes, chunks being written, and chunks the hash holds in memory (8 MiB: a
 * hash that lags further reads them back from the copy); one buffer each, 32 MiB of shared memory in all.
 * Kept small: until the collector frees it, every process this one starts afterwards (fork copies the
 * page tables) costs more, ~2 ms for 56 MiB.
 */
const READS_AHEAD = 3;
const WRITES_BEHIND = 3;
const HASH_HOLD = 2;
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
  /** A hash started ahead (`new WindowHasher()`), which the pass then owns. */
  readonly hasher?: WindowHasher;
  /** The hash starts only once this settles (tests: a hash slower than the copy). */
  readonly holdHash?: Promise<unknown>;
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

  const opening: Opening = {};
  // Started by the caller ahead of a freeze, or here; this pass ends it either way.
  const hasher = options.hasher ?? new WindowHasher();
  let handedOn: Promise<void> | undefined;
  let method: ImageChecksum['method'] = 'full';

  const copied = (async () => {
    const { size } = await within(fs.promises.stat(source));
    // Inside the caller's freeze (or under the root lock) the extents hold still until the copy ends.
    const extents = await within(dataExtents(source));
    method = extents ? 'extents' : 'full';
    opening.source = openSource(source, size, READS_AHEAD + WRITES_BEHIND + HASH_HOLD, CHUNK_WINDOWS * WINDOW);
    opening.source.catch(() => undefined);
    const { reader, pool } = await within(opening.source);
    // Read and write: the hash may read back what the copy wrote.
    opening.target = fs.promises.open(target, 'wx+', 0o600);
    opening.target.catch(() => undefined);
    const dst = await within(opening.target);
    await within(dst.truncate(size));
    const pass = new Pass(reader, dst, size, extents, pool.buffers, options.onProgress);
    hasher.begin(pool.memory, dst.fd, size, CHUNK_WINDOWS * WINDOW, (at) => pass.released(at));
    handedOn = pass.hashTo(hasher, options.holdHash);
    await within(pass.copy(within));
  })().finally(() => clearTimeout(timer));

  const hashed = copied.then(async () => {
    await handedOn;
    const sha256 = await hasher.digest();
    await closeAll(opening, undefined);
    return { sha256, method };
  });
  // Both are handled here; callers still get each rejection when they await.
  copied.catch(() => undefined);
  hashed.catch(async () => {
    // The worker reads the target: it stops first. FileHandle.close waits for the handle's pending reads
    // and writes: after a timeout that runs in the background, so that the caller can thaw at once; the
    // partial target goes only after it.
    await hasher.abort().catch(() => undefined);
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

interface Opening {
  source?: ReturnType<typeof openSource>;
  target?: Promise<fs.promises.FileHandle>;
}

async function closeAll(opening: Opening, removeTarget: string | undefined): Promise<void> {
  const src = await opening.source?.catch(() => undefined);
  const dst = await opening.target?.catch(() => undefined);
  const made = dst && removeTarget ? await dst.stat().catch(() => undefined) : undefined;
  await Promise.allSettled([src?.reader.close(), dst?.close()]);
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
  private nextHashed = 0;
  private allHandedOn: (() => void) | undefined;
  private hasher: WindowHasher | undefined;
  private held = 0;
  /** The pool's buffers by their offset in its shared memory (how the hash names them). */
  private readonly pooled = new Map<number, Buffer>();
  /** How many of a buffer's uses (its write, its hash) are still to end. */
  private readonly uses = new Map<Buffer, number>();

  constructor(
    private readonly src: SourceReader,
    private readonly dst: fs.promises.FileHandle,
    private readonly size: number,
    private readonly extents: Extent[] | undefined,
    buffers: Buffer[],
    private readonly onProgress: CopyAndHashOptions['onProgress'],
  ) {
    this.chunks = chunksOf(dataWindows(size, extents));
    this.free = [...buffers];
    for (const buffer of buffers) this.pooled.set(buffer.byteOffset, buffer);
  }

  /** Chunks go to `hasher` in order (once `hold` settles, if given); settles when all have gone. */
  hashTo(hasher: WindowHasher, hold: Promise<unknown> | undefined): Promise<void> {
    const all = new Promise<void>((resolve) => (this.allHandedOn = resolve));
    if (!hold) this.hasher = hasher;
    else
      void hold.finally(() => {
        this.hasher = hasher;
        this.handOn();
      });
    this.handOn();
    return all;
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
          this.src.read(buffer, chunk.count * WINDOW, chunk.first * WINDOW).then(
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
      // The hash gets the chunk at once, in this buffer, while it holds few; else it reads it back from
      // the copy once written (a hash behind never slows the copy, which a frozen filesystem waits for).
      const inMemory = windows.length > 0 && this.held < HASH_HOLD;
      if (inMemory) this.held += 1;
      this.uses.set(buffer, inMemory ? 2 : 1);
      const entry = { chunk, windows, buffer: inMemory ? buffer : undefined };
      if (inMemory || windows.length === 0) this.ready(c, entry);
      const index = c;
      const write: Promise<void> = writeRanges(this.dst, buffer, base, toWrite).then(
        () => {
          writes.delete(write);
          this.release(buffer);
          if (!inMemory && windows.length > 0) this.ready(index, entry);
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

  /** A chunk the hash may take now (in its buffer, or from the copy once written). */
  private ready(index: number, entry: Written): void {
    this.written.set(index, entry);
    this.handOn();
  }

  /** One use of `buffer` (its write, or its hash) is over; the last one frees it. */
  private release(buffer: Buffer): void {
    const left = (this.uses.get(buffer) ?? 1) - 1;
    this.uses.set(buffer, left);
    if (left === 0) this.free.push(buffer);
  }

  /** Sends the hash every written chunk that is next in order. */
  private handOn(): void {
    if (!this.hasher) return;
    for (let next = this.written.get(this.nextHashed); next; next = this.written.get(this.nextHashed)) {
      this.written.delete(this.nextHashed);
      this.nextHashed += 1;
      this.hasher.add({ base: next.chunk.first * WINDOW, windows: next.windows, at: next.buffer?.byteOffset });
    }
    if (this.nextHashed === this.chunks.length) this.allHandedOn?.();
  }

  /** The hash is done with the buffer at `at` in the pool. */
  released(at: number): void {
    this.held -= 1;
    this.release(this.pooled.get(at)!);
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
