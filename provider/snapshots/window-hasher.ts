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
// CommonJS, or ESM where the process forces that module type on evaluated code.
const WORKER_SOURCE = `
const load = typeof require === 'function' ? require : process.getBuiltinModule;
const { parentPort } = load('node:worker_threads');
const { createHash } = load('node:crypto');
const fs = load('node:fs');
let pool, targetFd, hash, own;
const offset = Buffer.alloc(8);
parentPort.on('message', (job) => {
  if (job.begin) {
    ({ pool, targetFd } = job.begin);
    hash = createHash('sha256');
    hash.update(Buffer.from(job.begin.header, 'latin1'));
    own = Buffer.allocUnsafe(job.begin.chunkBytes);
    return;
  }
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

/**
 * Started ahead of the copy (a worker takes 30 to 60 ms to start here; a frozen filesystem need not
 * wait for it), then given the copy's memory and target with `begin`; `abort` when it is not used.
 */
export class WindowHasher {
  private readonly worker: Worker;
  private readonly result: Promise<string>;
  private settle!: { resolve: (hex: string) => void; reject: (error: Error) => void };
  private onReleased: (at: number) => void = () => undefined;

  constructor() {
    this.result = new Promise<string>((resolve, reject) => (this.settle = { resolve, reject }));
    this.result.catch(() => undefined);
    // No inherited flags: the evaluated source is the worker's whole program.
    this.worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    this.worker.on('message', (message: { done?: number; digest?: string; error?: string }) => {
      if (message.error !== undefined) this.settle.reject(new Error(`hashing the copy failed: ${message.error}`));
      else if (message.digest !== undefined) this.settle.resolve(message.digest);
      else if (message.done !== undefined) this.onReleased(message.done);
    });
    this.worker.on('error', (error) => this.settle.reject(error));
    this.worker.on('exit', () => this.settle.reject(new Error('the hash worker stopped before the digest')));
  }

  /**
   * Starts the hash of an image of `size` bytes. `pool`: the shared memory the copy reads into;
   * `targetFd`: the copy, for chunks read back; `onReleased`: told the pool offset of each chunk the
   * hash is done with.
   */
  begin(
    pool: SharedArrayBuffer,
    targetFd: number,
    size: number,
    chunkBytes: number,
    onReleased: (at: number) => void,
  ): void {
    this.onReleased = onReleased;
    this.worker.postMessage({ begin: { pool, targetFd, header: `size:${size}\0`, chunkBytes } });
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

  /** Stops the hash (the copy failed, or never started); settles once the worker no longer touches the target. */
  async abort(): Promise<void> {
    await this.worker.terminate();
  }
}
