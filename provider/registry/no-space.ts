/**
 * The one line for a registry or lock write that finds the root's filesystem full (or over quota), in
 * place of a bare `ENOSPC: no space left on device, write` that says neither where nor what to do.
 */
import * as path from 'node:path';
import { HoststoreError } from '../errors.js';

export function noSpaceError(error: unknown, file: string, done: string): HoststoreError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return undefined;
  const why = code === 'ENOSPC' ? 'no space left on device' : 'disk quota exceeded';
  // Keeps the code, so a caller that explains a full root better (a snapshot's space line) still knows it.
  return Object.assign(
    new HoststoreError(
      `cannot write ${file}: the filesystem holding it is full (${code}: ${why}); ${done}. Free space on it (df ${path.dirname(file)}), then run the command again`,
    ),
    { code },
  );
}
