/** `hoststore list` and `hoststore status NAME`: what exists on the root and how it is used. */
import { HoststoreError, UsageError } from '../errors.js';
import { inventory, type InventoryItem } from '../inventory.js';
import type { GlobalOptions } from '../cli.js';
import { formatBytes, printJson, table } from './format.js';

export function list(options: GlobalOptions): number {
  const items = inventory(options.root);
  if (options.json) {
    printJson(items);
    return 0;
  }
  if (items.length === 0) {
    process.stdout.write(`no storage under ${options.root}\n`);
    return 0;
  }
  const rows = items.map((i) => [
    i.name, i.kind, i.project || '-', i.sizeGb === undefined ? '-' : `${i.sizeGb} GB`, i.filesystem ?? '-',
    formatBytes(i.allocatedBytes), i.state,
    i.mounts.map((m) => `${m.service}[${m.replica}]${m.readOnly ? ' ro' : ''}`).join(', ') || '-',
    i.lease ? `${i.lease.service}[${i.lease.replica}]` : '-',
  ]);
  process.stdout.write(`${table(['NAME', 'KIND', 'PROJECT', 'SIZE', 'FS', 'ALLOCATED', 'STATE', 'MOUNTS', 'LEASE'], rows)}\n`);
  return 0;
}

/** The one item called `name`; a name used by several projects needs --project. */
export function findItem(items: InventoryItem[], name: string, options: GlobalOptions): InventoryItem {
  const matches = items.filter((i) => i.name === name && (!options.project || i.project === options.project || i.kind === 'disk'));
  if (matches.length === 0) throw new HoststoreError(`no storage named '${name}' under ${options.root} (see hoststore list)`);
  if (matches.length > 1) {
    throw new UsageError(`'${name}' names ${matches.length} storages (${matches.map((m) => `${m.kind} in project ${m.project}`).join(', ')}); pick one with --project`);
  }
  return matches[0];
}

export function status(name: string, options: GlobalOptions): number {
  const item = findItem(inventory(options.root), name, options);
  if (options.json) {
    printJson(item);
    return 0;
  }
  const lines = [
    `name:           ${item.name}`,
    `kind:           ${item.kind}${item.project ? ` (project ${item.project}${item.stack ? `, stack ${item.stack}` : ''})` : ''}`,
    `state:          ${item.state}`,
    `path:           ${item.path}`,
    `size:           ${item.sizeGb === undefined ? '-' : `${item.sizeGb} GB`}${item.filesystem ? ` ${item.filesystem}` : ''}`,
    `allocated:      ${formatBytes(item.allocatedBytes)}`,
    `removal policy: ${item.removalPolicy ?? '-'}`,
    `lease:          ${item.lease ? `${item.lease.project}/${item.lease.service} replica ${item.lease.replica} since ${item.lease.since}` : '-'}`,
    `mounts:${item.mounts.length === 0 ? '         -' : ''}`,
    ...item.mounts.map((m) => `  ${m.project}/${m.service} replica ${m.replica}: ${m.mountPath} -> ${m.hostPath}${m.readOnly ? ' (read-only)' : ''}${m.mounted ? '' : ' [NOT MOUNTED]'}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
