/**
 * The temporaries an import --copy writes beside its target (`<target>.<pid>.importing`), and their removal
 * once their importer is gone (killed mid-copy): no command lists them, so nothing else would.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { removeTree } from '../host/remove-tree.js';
import { processAlive } from '../host/process-alive.js';

export function importTemporary(target: string): string {
  return `${target}.${process.pid}.importing`;
}

/** Where imports put their temporaries: beside the disks, and each project's volumes and directories. */
function importDirectories(root: string): string[] {
  const projects = path.join(root, 'projects');
  const names = fs.existsSync(projects) ? fs.readdirSync(projects) : [];
  return [
    path.join(root, 'disks'),
    ...names.flatMap((p) => [path.join(projects, p, 'volumes'), path.join(projects, p, 'directories')]),
  ];
}

/**
 * Removes import temporaries whose importer is gone, and returns their paths. `locked`: the caller holds
 * the root's lock, which an import holds throughout, so every temporary is stale (one named without a
 * pid, by an older hoststore, too); without it only those whose pid is no longer running.
 */
export async function sweepImportLeftovers(root: string, options: { locked: boolean }): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of importDirectories(root)) {
    let entries: string[];
    try {
      entries = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (!entry.endsWith('.importing')) continue;
      const pid = /\.(\d+)\.importing$/.exec(entry)?.[1];
      const stale = options.locked
        ? pid === undefined || Number(pid) !== process.pid
        : pid !== undefined && !processAlive(Number(pid));
      if (!stale) continue;
      await removeTree(path.join(dir, entry));
      removed.push(path.join(dir, entry));
    }
  }
  return removed;
}
