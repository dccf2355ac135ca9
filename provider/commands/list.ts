/** `hoststore list` and `hoststore status NAME`: what exists on the root and how it is used. */
import type { GlobalOptions } from '../cli.js';
import { formatBytes, printJson, table } from './format.js';
import { perRootText } from './app-roots.js';
import { listEntries, statusEntry, type ListEntry } from './read-data.js';

export { findItem } from './read-data.js';

export function list(options: GlobalOptions): number {
  const entries = listEntries(options);
  if (options.json) printJson(entries);
  else process.stdout.write(`${listText(entries, rootsOfList(options))}\n`);
  return 0;
}

function rootsOfList(options: GlobalOptions): readonly string[] {
  return options.roots && options.roots.length > 0 ? options.roots : [options.root];
}

/** The list's text: a table per root (`no storage under ROOT` for an empty one), each under its heading when several. */
export function listText(entries: readonly ListEntry[], roots: readonly string[]): string {
  return perRootText(
    roots.map((root) => {
      const items = entries.filter((e) => e.root === root);
      return { root, text: items.length === 0 ? `no storage under ${root}` : listTable(items) };
    }),
  );
}

function listTable(items: readonly ListEntry[]): string {
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

export function status(name: string, options: GlobalOptions): number {
  const entry = statusEntry(name, options);
  if (options.json) printJson(entry);
  else process.stdout.write(`${statusText(entry)}\n`);
  return 0;
}

export function statusText(item: ListEntry): string {
  const lines = [
    `name:           ${item.name}`,
    `root:           ${item.root}`,
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
  return lines.join('\n');
}
