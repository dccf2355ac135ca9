/**
 * `hoststore up`: after a reboot loop devices and mounts are gone; re-attach and re-mount everything the
 * registry says is mounted. Idempotent: a converged host is left as it is.
 */
import * as fs from 'node:fs';
import { Registry } from '../registry/store.js';
import { imagePath } from '../../src/schema.js';
import { deletedImageHolds } from '../handlers/deleted-image.js';
import { converge, makeContext } from '../handlers/handler.js';
import { mountHandler, mountSpecFromRecord } from '../handlers/mount.js';
import type { GlobalOptions } from '../cli.js';
import { finishInterrupted } from './finish-interrupted.js';
import { commandHint } from '../command-hint.js';

export async function up(options: GlobalOptions): Promise<number> {
  // A root on a pool is an empty directory until the pool is back: mount it first, or stop.
  await (await import('../host/pool.js')).mountPoolIfAny(options.root, (line) => process.stdout.write(`${line}\n`));
  const ctx = makeContext(options.root);
  await finishInterrupted(ctx);
  // An import killed mid-copy leaves its temporary, which no command lists; its pid says it is gone.
  const { sweepImportLeftovers } = await import('./import-leftovers.js');
  for (const left of await sweepImportLeftovers(options.root, { locked: false }))
    ctx.log(`removed ${left}: the partial copy of an import that was killed`);
  const records = new Registry(options.root).mounts();
  let failed = 0;
  for (const m of records) {
    const spec = mountSpecFromRecord(options.root, m);
    const image =
      m.storageKind === 'directory' ? undefined : imagePath(options.root, m.storageKind, m.project, m.storage);
    if (image && !fs.existsSync(image) && deletedImageHolds(image).length === 0) {
      // Said as the plan says it, not as losetup's "No such file or directory" (an image deleted while
      // still mounted is the handler's to report, with the way to save its data).
      failed += 1;
      process.stderr.write(
        `hoststore up: ${m.storage} for ${m.project}/${m.service} replica ${m.replica}: ${m.storageKind} ${m.storage}: ${image} is missing (deleted behind hoststore's back), so it was not mounted. Restore the file and run ${commandHint(options.root, 'up')} again, or delete the record with \`${commandHint(options.root, `delete ${m.storage} --yes`)}\` to start empty\n`,
      );
      continue;
    }
    try {
      const diff = await converge(mountHandler, ctx, spec, 'hoststore up');
      if (diff.action === 'none')
        ctx.log(`${m.storage}: already mounted for ${m.project}/${m.service} replica ${m.replica}`);
    } catch (error) {
      failed += 1;
      process.stderr.write(
        `hoststore up: ${m.storage} for ${m.project}/${m.service} replica ${m.replica}: ${(error as Error).message}\n`,
      );
    }
  }
  process.stdout.write(`up: ${records.length - failed} of ${records.length} mounts in place\n`);
  return failed === 0 ? 0 : 1;
}
