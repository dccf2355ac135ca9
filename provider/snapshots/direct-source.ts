/**
 * Reading an image for the single pass with direct I/O where its filesystem allows: the disk's DMA fills
 * the buffer, with no copy through the page cache (cold, that copy cost as much CPU as the read's wait).
 */
import * as fs from 'node:fs';

export interface SourceReader {
  /** Whether reads go directly to the disk (else through the page cache). */
  readonly direct: boolean;
  /** Reads up to `length` bytes at `position` into `buffer` (from its start); fewer only at the end of the file. */
  read(buffer: Buffer, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

/** Shared memory for `count` buffers of `bytes`, each aligned as `source` needs for direct I/O where it can. */
export interface BufferPool {
  readonly memory: SharedArrayBuffer;
  readonly buffers: Buffer[];
}

const ALIGN = 4096;

/**
 * The shared memory of the last pass, once its reads are over, for the next pass of this process: a new
 * one each time would stay mapped until the collector frees it, and every process started afterwards
 * (fork copies the page tables) pays for what is mapped, ~2 ms for 56 MiB.
 */
let spare: SharedArrayBuffer | undefined;

/**
 * Opens `source` for reading, directly where its filesystem and the pool's alignment allow, else
 * through the page cache. A direct read refused (EINVAL) or cut short before the end of the file is
 * done again through the page cache: the bytes are the same either way (a direct read writes back the
 * range's dirty cached pages first).
 */
export async function openSource(
  source: string,
  size: number,
  count: number,
  bytes: number,
  options: { readonly direct?: boolean } = {},
): Promise<{ reader: SourceReader; pool: BufferPool }> {
  const buffered = await fs.promises.open(source, 'r');
  let direct: fs.promises.FileHandle | undefined;
  let offset = 0;
  if (options.direct ?? true) {
    try {
      direct = await fs.promises.open(source, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
    } catch {
      direct = undefined; // not on this filesystem (older tmpfs, some network filesystems)
    }
  }
  if (direct) {
    // One file, opened twice: used directly only when both opens found the same inode.
    const [a, b] = await Promise.all([buffered.stat(), direct.stat()]);
    if (a.dev !== b.dev || a.ino !== b.ino) {
      await direct.close().catch(() => undefined);
      direct = undefined;
    }
  }
  const length = count * bytes + ALIGN;
  const memory = spare?.byteLength === length ? spare : new SharedArrayBuffer(length);
  if (memory === spare) spare = undefined;
  if (direct) {
    const found = alignmentIn(memory, direct.fd);
    if (found === undefined) {
      await direct.close().catch(() => undefined);
      direct = undefined;
    } else offset = found;
  }
  const pool = {
    memory,
    buffers: Array.from({ length: count }, (_, i) => Buffer.from(memory, offset + i * bytes, bytes)),
  };
  const reader: SourceReader = {
    direct: direct !== undefined,
    async read(buffer, length, position) {
      if (direct) {
        try {
          const { bytesRead } = await direct.read(buffer, 0, length, position);
          if (bytesRead === length || position + bytesRead >= size) return bytesRead;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
        }
      }
      return readFully(buffered, buffer, length, position);
    },
    async close() {
      // FileHandle.close waits for the handle's pending reads: none writes into the memory after this.
      await Promise.allSettled([buffered.close(), direct?.close()]);
      spare ??= memory;
    },
  };
  return { reader, pool };
}

/**
 * Where in `memory` a buffer starts that direct reads of `fd` accept. JavaScript cannot see addresses,
 * so each 16-byte step of the first page is tried with one small read (a refusal costs no I/O).
 */
function alignmentIn(memory: SharedArrayBuffer, fd: number): number | undefined {
  for (let at = 0; at < ALIGN; at += 16) {
    try {
      fs.readSync(fd, Buffer.from(memory, at, ALIGN), 0, ALIGN, 0);
      return at;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EINVAL') return undefined;
    }
  }
  return undefined;
}

export async function readFully(
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
