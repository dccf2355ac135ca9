/**
 * Block storage as the handlers need it, composed from the host primitives: an image attached to one
 * loop device (direct I/O), staged (mounted once) under the root, grown in place online or, for ext4
 * where the kernel refuses, offline with every bind mount put back as it was.
 */
import * as fs from 'node:fs';
import type { Filesystem, StorageSpec } from '../../src/schema.js';
import { createSparseImage, growImage } from '../host/image.js';
import { formatImage, growFilesystemOffline, growFilesystemOnline, OnlineGrowUnsupported, requireMkfs } from '../host/filesystem.js';
import { attachLoop, detachLoop, loopsFor, refreshLoopCapacity } from '../host/loop.js';
import { bindMount, mountDevice, readMountTable, safeMountTarget, unmount, type MountEntry } from '../host/mounts.js';
import { stagingPath } from '../../src/schema.js';
import type { HandlerContext } from './handler.js';

export async function requireFormatter(filesystem: Filesystem): Promise<void> {
  requireMkfs(filesystem);
}

export async function createFormattedImage(image: string, sizeBytes: number, filesystem: Filesystem, label: string): Promise<void> {
  await createSparseImage(image, sizeBytes);
  await formatImage(image, filesystem, label);
}

/** The one loop device backing `image`, attaching it when none is. Never two loop devices on one image. */
export async function ensureLoop(image: string): Promise<string> {
  const existing = loopsFor(image);
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

/** Mounts the image's filesystem at its staging path (once), returning the loop device. */
export async function ensureStaged(root: string, staging: string, image: string, filesystem: Filesystem): Promise<string> {
  const device = await ensureLoop(image);
  const current = entryAt(readMountTable(), staging);
  if (current && current.source === device) return device;
  if (current) await unmount(staging);
  await safeMountTarget(root, staging);
  await mountDevice(device, staging, filesystem, { readOnly: false });
  return device;
}

/** Unmounts the staging mount (if any) and detaches the image's loop devices. */
export async function unstage(staging: string, image: string): Promise<void> {
  if (readMountTable().some((entry) => entry.target === staging)) await unmount(staging);
  if (fs.existsSync(image) && fs.statSync(image).isFile()) await detachAll(image);
}

/** Grows the image and its filesystem to `sizeBytes`; returns a note on how (online, offline, unmounted). */
export async function growStorage(ctx: HandlerContext, spec: StorageSpec, image: string, sizeBytes: number): Promise<string> {
  const filesystem = spec.filesystem as Filesystem;
  const staging = stagingPath(spec.root, spec.kind, spec.project, spec.name);
  await growImage(image, sizeBytes);
  const staged = readMountTable().some((entry) => entry.target === staging);
  if (staged) {
    const device = loopsFor(image)[0];
    await refreshLoopCapacity(device);
    try {
      await growFilesystemOnline(filesystem, device, staging);
      return '(online)';
    } catch (error) {
      if (!(error instanceof OnlineGrowUnsupported)) throw error;
    }
    const started = Date.now();
    const binds = ctx.registry.mountsOf(spec.kind, spec.project, spec.name);
    for (const bind of binds) await unmount(bind.hostPath);
    await unmount(staging);
    try {
      await growFilesystemOffline(filesystem, device);
    } finally {
      await mountDevice(device, staging, filesystem, { readOnly: false });
      for (const bind of binds) {
        await bindMount(staging, bind.hostPath, { readOnly: bind.readOnly });
      }
    }
    return `(offline: online ${filesystem} resize is not permitted here, so it was unmounted, resized and remounted; ${Date.now() - started} ms without the mount)`;
  }
  // Not mounted: ext4 resizes the image directly; xfs and btrfs only grow while mounted.
  if (filesystem === 'ext4') {
    await growFilesystemOffline(filesystem, image);
    return '(offline, not mounted)';
  }
  const device = await ensureStaged(spec.root, staging, image, filesystem);
  try {
    await refreshLoopCapacity(device);
    await growFilesystemOnline(filesystem, device, staging);
  } finally {
    await unstage(staging, image);
  }
  return '(mounted briefly to grow)';
}

