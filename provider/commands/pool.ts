/**
 * `hoststore pool create | status`: a root on a loop-backed btrfs pool, so that snapshots are reflinks
 * (instant, a freeze of milliseconds) on a host whose own filesystem cannot share extents.
 */
import { UsageError } from '../errors.js';
import { createPool, poolStatus, POOL_MAX_GB, POOL_MIN_GB, type PoolStatus } from '../host/pool.js';
import type { GlobalOptions } from '../cli.js';
import { formatBytes, printJson } from './format.js';
import { commandHint } from '../command-hint.js';

export async function pool(args: string[], options: GlobalOptions & { sizeGb?: string }): Promise<number> {
  const [verb, ...rest] = args;
  if (rest.length > 0)
    throw new UsageError(`unexpected argument '${rest[0]}'; usage: hoststore pool create|status --root DIR`);
  const log = (line: string) => (options.json ? process.stderr : process.stdout).write(`${line}\n`);
  switch (verb) {
    case 'create': {
      if (options.sizeGb === undefined)
        throw new UsageError(
          'usage: hoststore pool create --root DIR --size-gb N (the pool file is sparse: it takes host space only as data is written)',
        );
      if (!/^\d{1,8}$/.test(options.sizeGb)) {
        throw new UsageError(
          `--size-gb must be a whole number of GiB from ${POOL_MIN_GB} to ${POOL_MAX_GB} (got ${options.sizeGb})`,
        );
      }
      const status = await createPool(options.root, Number(options.sizeGb), log);
      if (options.json) printJson(status);
      return 0;
    }
    case 'status': {
      const status = await poolStatus(options.root);
      if (options.json) printJson(status);
      else process.stdout.write(`${describe(status)}\n`);
      return status.mounted ? 0 : 1;
    }
    default:
      throw new UsageError(
        `unknown pool command '${verb ?? ''}'; use: hoststore pool create --root DIR --size-gb N, or hoststore pool status --root DIR`,
      );
  }
}

function describe(s: PoolStatus): string {
  const lines = [
    `pool:       ${s.root}`,
    `file:       ${s.file} (${formatBytes(s.sizeBytes)}, ${formatBytes(s.allocatedBytes)} allocated on the host)`,
  ];
  if (!s.mounted) return [...lines, `mounted:    no (run ${commandHint(s.root, 'up')} to mount it)`].join('\n');
  return [
    ...lines,
    `mounted:    from ${s.device} (${s.directIo ? 'direct I/O' : 'buffered I/O'})`,
    `filesystem: btrfs, ${formatBytes(s.filesystemBytes)}, ${formatBytes(s.usedBytes)} used, ${formatBytes(s.freeBytes)} free${s.nodatacow ? ', nodatacow' : ''}`,
    `snapshots:  ${s.reflink ? 'reflink (instant; a mounted disk is frozen for milliseconds)' : 'full copies (reflink does not work here)'}`,
  ].join('\n');
}
