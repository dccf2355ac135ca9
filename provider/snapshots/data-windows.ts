/**
 * Where an image's data is: its data extents (FIEMAP via filefrag) and the 1 MiB windows, aligned to the
 * file, that touch them. The checksum and the single-pass copy both walk these, so they agree.
 */
import { run } from '../exec.js';

/** The unit of an image's checksum: each non-zero window is hashed with its offset. */
export const WINDOW = 1 << 20;

/** The data extents of a file as [offset, length] in bytes, from FIEMAP via filefrag; undefined if unsupported. */
export async function dataExtents(file: string): Promise<Array<[number, number]> | undefined> {
  try {
    const { stdout } = await run('filefrag', ['-e', file], { concurrent: true });
    const blockSize = Number(/blocks of (\d+) bytes/.exec(stdout)?.[1]);
    if (!blockSize) return undefined;
    const extents: Array<[number, number]> = [];
    for (const match of stdout.matchAll(/^\s*\d+:\s+(\d+)\.\.\s*(\d+):\s+\d+\.\.\s*\d+:\s+\d+:.*$/gm)) {
      const [first, last] = [Number(match[1]), Number(match[2])];
      extents.push([first * blockSize, (last - first + 1) * blockSize]);
    }
    return extents;
  } catch {
    return undefined;
  }
}

/** The windows (indexes, ascending) of a file of `size` bytes that touch `extents` (all of them when unknown). */
export function dataWindows(size: number, extents: ReadonlyArray<readonly [number, number]> | undefined): number[] {
  const windows = new Set<number>();
  for (const [start, length] of extents ?? [[0, size] as const]) {
    for (let w = Math.floor(start / WINDOW); w * WINDOW < Math.min(start + length, size); w += 1) windows.add(w);
  }
  return [...windows].sort((a, b) => a - b);
}
