/**
 * Block storage as the handlers need it, composed from the host primitives: an image attached to one
 * loop device (direct I/O) and mounted once (at the replica's host path when one instance holds it, at a
 * staging path bound into every replica when shared), grown in place online or, for ext4 where the
 * kernel refuses, offline with every mount put back as it was.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Filesystem, StorageSpec } from '../../src/schema.js';
import { createSparseImage, growImage } from '../host/image.js';
import {
  formatImage,
  growFilesystemOffline,
  growFilesystemOnline,
  OnlineGrowUnsupported,
  requireMkfs,
} from '../host/filesystem.js';
import { attachLoop, detachLoop, loopsFor, refreshLoopCapacity } from '../host/loop.js';
import { bindMount, mountDevice, readMountTable, safeMountTarget, unmount, type MountEntry } from '../host/mounts.js';
import { stagingPath } from '../../src/schema.js';
import { makeRootDirectory } from '../host/root-trust.js';
import type { HandlerContext } from './handler.js';
import { RefusedError } from '../errors.js';
import { describeHolders, holdersOf, type Holder } from '../host/holders.js';

/** Why an offline grow cannot unmount: who holds which mount, and the way out. */
export function busyReason(what: string, targets: readonly string[], holders: readonly Holder[]): string {
  return `${what}: growing it means unmounting ${targets.join(', ')} (online ext4 resize is not permitted here), and it is held by ${describeHolders(holders)}; stop those processes (or move them off the mount) and apply again. Nothing was changed`;
}

export async function requireFormatter(filesystem: Filesystem): Promise<void> {
  requireMkfs(filesystem);
}

export async function createFormattedImage(
  image: string,
  sizeBytes: number,
  filesystem: Filesystem,
  label: string,
): Promise<void> {
  await createSparseImage(image, sizeBytes);
  await formatImage(image, filesystem, label);
}

/**
 * The one loop device backing `image`, attaching it when none is. Never two loop devices on one image.
 * `existing` is what loopsFor(image) returned just now, when the caller already has it.
 */
export async function ensureLoop(image: string, existing: readonly string[] = loopsFor(image)): Promise<string> {
  if (existing.length > 0) return existing[0];
  const attached = await attachLoop(image, {});
  return attached.device;
}

export async function detachAll(image: string): Promise<void> {
  for (const device of loopsFor(image)) await detachLoop(device);
}

function entryAt(table: readonly MountEntry[], target: string): MountEntry | undefined {
  // The last entry at a target is the visible one (mounts stack).
  return [...table].reverse().find((entry) => entry.target === target);
}

/** Every mount of the image's filesystem (its loop device), oldest first: the first mount and any binds of it. */
export function mountsOfImage(
  image: string,
  table: readonly MountEntry[] = readMountTable(),
  loops: readonly string[] = loopsFor(image),
): MountEntry[] {
  const devices = new Set(loops);
  return table.filter((entry) => devices.has(entry.source)).sort((a, b) => a.id - b.id);
}

/**
 * Mounts the image's filesystem at `target` (attaching its loop device if needed), returning the device.
 * Exclusive storage is mounted straight at the replica's host path; shared storage at its staging path,
 * which replicas then bind.
 */
export async function ensureMounted(
  root: string,
  target: string,
  image: string,
  filesystem: Filesystem,
  readOnly: boolean,
  loops?: readonly string[],
): Promise<string> {
  const attachedHere = (loops ?? loopsFor(image)).length === 0;
  const device = await ensureLoop(image, loops);
  try {
    const current = entryAt(readMountTable(), target);
    if (current && current.source === device) return device;
    if (current) await unmount(target);
    // Staging is root's alone (0700): replicas reach shared storage through their binds, not through it.
    if (target.startsWith(`${root}/staging/`)) makeRootDirectory(root, path.dirname(target));
    await safeMountTarget(root, target);
    await mountDevice(device, target, filesystem, { readOnly });
  } catch (error) {
    // What this step attached, it detaches: a stale device left behind would be reused by the next mount.
    if (attachedHere) await detachLoop(device).catch(() => undefined);
    throw error;
  }
  return device;
}

/** Unmounts every mount of the image's filesystem (binds before what they bind) and detaches its loop devices. */
export async function unmountImage(image: string): Promise<void> {
  if (!fs.existsSync(image) || !fs.statSync(image).isFile()) return;
  for (const entry of mountsOfImage(image).reverse()) await unmount(entry.target);
  await detachAll(image);
}

/** Grows the image and its filesystem to `sizeBytes`; returns a note on how (online, offline, unmounted). */
/** How a grow went: its words for the log, whether it grew while mounted, and how long users were without the mount. */
export interface GrowReport {
  readonly text: string;
  readonly online: boolean;
  readonly downtimeMs: number;
}

export async function growStorage(
  _ctx: HandlerContext,
  spec: StorageSpec,
  image: string,
  sizeBytes: number,
): Promise<GrowReport> {
  const filesystem = spec.filesystem as Filesystem;
  const previousBytes = fs.statSync(image).size;
  await growImage(image, sizeBytes);
  const mounted = mountsOfImage(image);
  if (mounted.length > 0) {
    const device = mounted[0].source;
    await refreshLoopCapacity(device);
    try {
      await growFilesystemOnline(filesystem, device, mounted[0].target);
      return { text: '(online)', online: true, downtimeMs: 0 };
    } catch (error) {
      if (!(error instanceof OnlineGrowUnsupported)) throw error;
    }
    // Offline means unmounting, which fails half-way if anything holds the filesystem: refuse first, and
    // give the image back its size (the filesystem was not grown, so nothing else changed).
    const holders = holdersOf(mounted[0].target);
    if (holders.length > 0) {
      fs.truncateSync(image, previousBytes);
      await refreshLoopCapacity(device);
      throw new RefusedError(
        busyReason(
          `${spec.kind} ${spec.name}`,
          mounted.map((m) => m.target),
          holders,
        ),
      );
    }
    // ext4 here: take every mount down (binds first), resize, and put each back as it was.
    const started = Date.now();
    for (const entry of [...mounted].reverse()) await unmount(entry.target);
    try {
      await growFilesystemOffline(filesystem, device);
    } finally {
      const [first, ...binds] = mounted;
      await mountDevice(device, first.target, filesystem, { readOnly: first.readOnly });
      for (const bind of binds) await bindMount(first.target, bind.target, { readOnly: bind.readOnly });
    }
    const downtimeMs = Date.now() - started;
    return {
      text: `(offline: online ${filesystem} resize is not permitted here, so it was unmounted, resized and remounted; ${downtimeMs} ms without the mount)`,
      online: false,
      downtimeMs,
    };
  }
  // Not mounted: ext4 resizes the image directly; xfs and btrfs only grow while mounted.
  if (filesystem === 'ext4') {
    await growFilesystemOffline(filesystem, image);
    return { text: '(offline, not mounted)', online: false, downtimeMs: 0 };
  }
  const staging = stagingPath(spec.root, spec.kind, spec.project, spec.name);
  const device = await ensureMounted(spec.root, staging, image, filesystem, false);
  try {
    await refreshLoopCapacity(device);
    await growFilesystemOnline(filesystem, device, staging);
  } finally {
    await unmountImage(image);
  }
  return { text: '(mounted briefly to grow)', online: false, downtimeMs: 0 };
}
