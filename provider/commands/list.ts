/** `hoststore list` and `hoststore status NAME`: what exists on the root and how it is used. */
import { HoststoreError, UsageError } from '../errors.js';
import { inventory, type InventoryItem } from '../inventory.js';
import type { GlobalOptions } from '../cli.js';
import { formatBytes, printJson, table } from './format.js';
import { printPerRoot, rootsOf } from './app-roots.js';
import { commandHint } from '../command-hint.js';

export function list(options: GlobalOptions): number {
  const perRoot = rootsOf(options).map((root) => ({ root, items: inventory(root) }));
  if (options.json) {
    printJson(perRoot.flatMap(({ root, items }) => items.map((i) => ({ root, ...i }))));
    return 0;
  }
  printPerRoot(
    perRoot.map(({ root, items }) => ({
      root,
      text: items.length === 0 ? `no storage under ${root}` : listTable(items),
    })),
  );
  return 0;
}

function listTable(items: InventoryItem[]): string {
  const rows = items.map((i) => [
    i.name,
    i.kind,
    i.project || '-',
    i.sizeGb === undefined ? '-' : `${i.sizeGb} GB`,
    i.filesystem ?? '-',
    formatBytes(i.allocatedBytes),
    i.state,
    i.mounts.map((m) => `${m.service}[${m.replica}]${m.readOnly ? ' ro' : ''}`).join(', ') || '-',
    i.lease ? `${i.lease.service}[${i.lease.replica}]` : '-',
  ]);
  return table(['NAME', 'KIND', 'PROJECT', 'SIZE', 'FS', 'ALLOCATED', 'STATE', 'MOUNTS', 'LEASE'], rows);
}

/** The one item called `name`; a name used by several projects needs --project. */
export function findItem(items: InventoryItem[], name: string, options: GlobalOptions): InventoryItem {
  const matches = items.filter(
    (i) => i.name === name && (!options.project || i.project === options.project || i.kind === 'disk'),
  );
  if (matches.length === 0)
    throw new HoststoreError(
      `no storage named '${name}' under ${options.root} (see ${commandHint(options.root, 'list')})`,
    );
  if (matches.length > 1) {
    throw new UsageError(
      `'${name}' names ${matches.length} storages (${matches.map((m) => `${m.kind} in project ${m.project}`).join(', ')}); pick one with --project`,
    );
  }
  return matches[0];
}

export function status(name: string, options: GlobalOptions): number {
  const root = rootOfName(name, options);
  const item = findItem(inventory(root), name, { ...options, root });
  if (options.json) {
    printJson({ root, ...item });
    return 0;
  }
  const lines = [
    `name:           ${item.name}`,
    `root:           ${root}`,
    `kind:           ${item.kind}${item.project ? ` (project ${item.project}${item.stack ? `, stack ${item.stack}` : ''})` : ''}`,
    `state:          ${item.state}`,
    `path:           ${item.path}`,
    `size:           ${item.sizeGb === undefined ? '-' : `${item.sizeGb} GB`}${item.filesystem ? ` ${item.filesystem}` : ''}`,
    `allocated:      ${formatBytes(item.allocatedBytes)}`,
    `removal policy: ${item.removalPolicy ?? '-'}`,
    `lease:          ${item.lease ? `${item.lease.project}/${item.lease.service} replica ${item.lease.replica} since ${item.lease.since}` : '-'}`,
    `mounts:${item.mounts.length === 0 ? '         -' : ''}`,
    ...item.mounts.map(
      (m) =>
        `  ${m.project}/${m.service} replica ${m.replica}: ${m.mountPath} -> ${m.hostPath}${m.readOnly ? ' (read-only)' : ''}${m.mounted ? '' : ' [NOT MOUNTED]'}`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** The one root, of several a cdktf app declares, that has storage called `name`; more than one needs --root. */
function rootOfName(name: string, options: GlobalOptions): string {
  const roots = rootsOf(options);
  if (roots.length === 1) return roots[0];
  const holding = roots.filter((root) => inventory(root).some((i) => i.name === name));
  if (holding.length > 1)
    throw new UsageError(
      `'${name}' names storage under ${holding.length} roots of this app (${holding.join(', ')}); pick one with --root`,
    );
  if (holding.length === 0)
    throw new HoststoreError(
      `no storage named '${name}' under this app's roots (${roots.join(', ')}) (see ${commandHint(undefined, 'list')})`,
    );
  return holding[0];
}
