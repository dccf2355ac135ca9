/** Reads the one JSON request `hoststore remote` gets on stdin: bounded, never from a terminal. */
import * as fs from 'node:fs';
import * as tty from 'node:tty';
import { UsageError } from '../errors.js';

/** A request carries a project's specs: a few hundred KiB for the largest; more is not one of ours. */
export const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

const USAGE =
  'hoststore remote reads one JSON request on stdin, as hoststore sends it over ssh to a storage host; it is not run by hand';

/** The request as a JSON object, or a UsageError line saying what is wrong with it. */
export function readRequest(fd = 0): Record<string, unknown> {
  if (tty.isatty(fd)) throw new UsageError(`${USAGE} (stdin is a terminal)`);
  const chunks: Buffer[] = [];
  let total = 0;
  const buffer = Buffer.allocUnsafe(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, buffer, 0, buffer.length, null);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A non-blocking stdin with nothing yet: wait a little (synchronously: nothing else runs yet).
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (code === 'EOF') break;
      throw error;
    }
    if (n === 0) break;
    total += n;
    if (total > MAX_REQUEST_BYTES)
      throw new UsageError(`${USAGE}: the request is larger than ${MAX_REQUEST_BYTES / 1024 / 1024} MiB`);
    chunks.push(Buffer.from(buffer.subarray(0, n)));
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch (error) {
    const why = error instanceof RangeError ? 'it nests too deep to read' : (error as Error).message;
    throw new UsageError(`${USAGE}: the request is not JSON (${why})`);
  }
  if (typeof request !== 'object' || request === null || Array.isArray(request))
    throw new UsageError(`${USAGE}: the request is not a JSON object`);
  return request as Record<string, unknown>;
}
