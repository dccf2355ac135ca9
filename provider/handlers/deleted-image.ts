/**
 * An image deleted by hand while mounted: its loop device still holds the only copy of the data, so
 * nothing may unmount it (a reboot or detach would lose it). Found from /sys ("(deleted)") and the
 * mount table; the refusal says how to save the data.
 */
import { orphanLoopsFor } from '../host/loop.js';
import { readMountTable, type MountEntry } from '../host/mounts.js';
import { commandHint } from '../command-hint.js';

export interface DeletedImageHold {
  readonly device: string;
  /** Where the deleted image's filesystem is still mounted (first mount and binds). */
  readonly targets: string[];
}

/** Loop devices that hold a deleted file from `image`'s path and are still mounted somewhere. */
export function deletedImageHolds(image: string, table: readonly MountEntry[] = readMountTable()): DeletedImageHold[] {
  return orphanLoopsFor(image)
    .map((device) => ({ device, targets: table.filter((e) => e.source === device).map((e) => e.target) }))
    .filter((hold) => hold.targets.length > 0);
}

/** One line: what happened, where the data is, and how to save it. */
export function deletedImageReason(
  what: string,
  image: string,
  holds: readonly DeletedImageHold[],
  root?: string,
): string {
  const where = holds.map((h) => `${h.device} (mounted at ${h.targets.join(', ')})`).join(', ');
  const device = holds[0]?.device ?? '/dev/loopN';
  const target = holds[0]?.targets[0] ?? '<mount>';
  return (
    `${what}: its image ${image} was deleted while mounted; its data lives only in ${where}, so hoststore will not unmount it. ` +
    `Save the data first: stop the services using it, run \`fsfreeze --freeze ${target}; cp --sparse=always ${device} ${image}; fsfreeze --unfreeze ${target}\`, ` +
    `then unmount ${target} and run \`${commandHint(root, 'up')}\``
  );
}
