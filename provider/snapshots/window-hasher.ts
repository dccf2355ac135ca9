/**
 * The single pass's SHA-256, on a worker thread: chunks are hashed in the copy's buffers (shared memory,
 * never copied) or read back from the copy when the copy ran ahead, in order, as `checksum()` hashes them.
 */
import { Worker } from 'node:worker_threads';

/** One chunk for the hash: its non-zero windows ([offset in chunk, length]) at `base` in the file. */
export interface HashJob {
  readonly base: number;
  readonly windows: ReadonlyArray<readonly [number, number]>;
  /** Where the chunk's bytes are in the shared pool; absent: read them back from the target. */
  readonly at?: number;
}

// Kept as source (evaluated by the worker) so that a bundled CLI needs no separate worker file.
// node:crypto's SHA-256 is OpenSSL's (SHA-NI where the CPU has it): as fast as `openssl dgst` here.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const { pool, targetFd, header, chunkBytes } = workerData;
const hash = createHash('sha256');
hash.update(Buffer.from(header, 'latin1'));
const own = Buffer.allocUnsafe(chunkBytes);
const offset = Buffer.alloc(8);
parentPort.on('message', (job) => {
  if (job === 'end') return parentPort.postMessage({ digest: hash.digest('hex') });
  try {
    for (const [at, length] of job.windows) {
      let data;
      if (job.at !== undefined) data = Buffer.from(pool, job.at + at, length);
      else {
        let got = 0;
        while (got < length) {
          const n = fs.readSync(targetFd, own, got, length - got, job.base + at + got);
          if (n === 0) throw new Error('the copy ended early at byte ' + (job.base + at + got));
          got += n;
        }
        data = own.subarray(0, length);
      }
      offset.writeBigUInt64BE(BigInt(job.base + at));
      hash.update(offset);
      hash.update(data);
    }
    parentPort.postMessage({ done: job.at });
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message) });
  }
});
`;

export class WindowHasher {
  private readonly worker: Worker;
  private readonly result: Promise<string>;
  private settle!: { resolve: (hex: string) => void; reject: (error: Error) => void };

  /**
   * `pool`: the shared memory the copy reads into; `targetFd`: the copy, for windows read back;
   * `onReleased`: told the pool offset of each chunk the hash is done with.
   */
  constructor(
    pool: SharedArrayBuffer,
    targetFd: number,
    size: number,
    chunkBytes: number,
    onReleased: (at: number) => void,
  ) {
    this.result = new Promise<string>((resolve, reject) => (this.settle = { resolve, reject }));
    this.result.catch(() => undefined);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { pool, targetFd, header: `size:${size}\0`, chunkBytes },
    });
    this.worker.on('message', (message: { done?: number; digest?: string; error?: string }) => {
      if (message.error !== undefined) this.settle.reject(new Error(`hashing the copy failed: ${message.error}`));
      else if (message.digest !== undefined) this.settle.resolve(message.digest);
      else if (message.done !== undefined) onReleased(message.done);
    });
    this.worker.on('error', (error) => this.settle.reject(error));
    this.worker.on('exit', () => this.settle.reject(new Error('the hash worker stopped before the digest')));
  }

  /** Queues the next chunk, in file order. */
  add(job: HashJob): void {
    this.worker.postMessage(job);
  }

  /** The hex digest once every queued chunk is hashed. */
  async digest(): Promise<string> {
    this.worker.postMessage('end');
    try {
      return await this.result;
    } finally {
      await this.worker.terminate();
    }
  }

  /** Stops the hash (the copy failed); settles once the worker no longer touches the target. */
  async abort(): Promise<void> {
    await this.worker.terminate();
  }
}
