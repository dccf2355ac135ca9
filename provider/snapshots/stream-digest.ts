/**
 * A SHA-256 fed as data streams by, for `checksum()`. Computed by `openssl dgst` in its own process where
 * openssl is installed, on another core than the reads it runs beside; Node's hash where openssl is
 * missing or fails to start; both give the same digest for the same bytes (and, warmed up, the same
 * 1.2 GB/s with SHA-NI on this VM). The snapshot's single pass hashes on a worker thread instead
 * (window-hasher.ts): the pipe's copies cost it more than the hash.
 */
import { createHash } from 'node:crypto';
import { findTool, runFed } from '../exec.js';

export interface StreamDigest {
  /** Adds `data`, which is not copied: resolves once it may be reused. */
  update(data: Buffer): Promise<void>;
  /** Ends the input; the digest in hex. */
  digest(): Promise<string>;
  /** Gives up (the copy failed): the process, if any, ends. */
  abort(): void;
}

export async function streamDigest(): Promise<StreamDigest> {
  if (findTool('openssl')) {
    try {
      return await opensslDigest();
    } catch {
      // Not startable here: Node's hash gives the same digest, slower.
    }
  }
  return nodeDigest();
}

async function opensslDigest(): Promise<StreamDigest> {
  // -r: "<hex> *stdin", the same in OpenSSL 1.1 and 3.
  const { stdin, result } = await runFed('openssl', ['dgst', '-sha256', '-r']);
  // Write errors (openssl gone: EPIPE) reach each write's callback and `result`.
  stdin.on('error', () => undefined);
  return {
    update: (data) =>
      new Promise<void>((resolve, reject) => {
        stdin.write(data, (error) => (error ? reject(error) : resolve()));
      }),
    digest: async () => {
      stdin.end();
      const { stdout } = await result;
      const hex = /^([0-9a-f]{64})\b/.exec(stdout)?.[1];
      if (!hex) throw new Error(`openssl dgst printed no SHA-256: ${JSON.stringify(stdout.slice(0, 100))}`);
      return hex;
    },
    abort: () => stdin.destroy(),
  };
}

function nodeDigest(): StreamDigest {
  const hash = createHash('sha256');
  return {
    update: (data) => {
      hash.update(data);
      return Promise.resolve();
    },
    digest: () => Promise.resolve(hash.digest('hex')),
    abort: () => undefined,
  };
}
