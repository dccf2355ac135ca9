/** `hoststore list` and `hoststore status NAME`: what exists on the root, how it is used and how full it is. */
import type { GlobalOptions } from '../cli.js';
import type { FilesystemUsage, RootSpace } from '../dashboard/api.js';
import { usedPercent } from '../host/fs-usage.js';
import { formatBytes, printJson, table } from './format.js';
import { perRootText } from './app-roots.js';
import { listEntries, listWithSpace, statusEntry, type ListEntry, type StatusEntry } from './read-data.js';

export { findItem } from './read-data.js';

export function list(options: GlobalOptions): number {
  // --json stays an array of entries (scripts read `.[].name`); the roots' space is for the text.
  if (options.json) printJson(listEntries(options));
  else {
    const { entries, roots } = listWithSpace(options);
    process.stdout.write(`${listText(entries, rootsOfList(options), roots)}\n`);
  }
  return 0;
}

function rootsOfList(options: GlobalOptions): readonly string[] {
  return options.roots && options.roots.length > 0 ? options.roots : [options.root];
}

/**
 * The list's text: a table per root (`no storage under ROOT` for an empty one), each under its heading when
 * several, and, when its space is known, a last line with the root's free space and thin-provisioning ratio.
 */
export function listText(
  entries: readonly ListEntry[],
  roots: readonly string[],
  spaces: readonly RootSpace[] = [],
): string {
  return perRootText(
    roots.map((root) => {
      const items = entries.filter((e) => e.root === root);
      const space = spaces.find((s) => s.root === root);
      const text = items.length === 0 ? `no storage under ${root}` : listTable(items);
      return { root, text: space ? `${text}\n${fitLine(rootSpaceLine(space))}` : text };
    }),
  );
}

function listTable(items: readonly ListEntry[]): string {
  const rows = items.map((i) => [
    i.name,
    i.kind,
    i.project || '-',
    // Size and filesystem share a column: with USED, ten columns would not fit a 60-column terminal.
    [i.sizeGb === undefined ? '-' : `${i.sizeGb} GB`, i.filesystem].filter(Boolean).join(' '),
    formatBytes(i.allocatedBytes),
    usageText(i.usage),
    i.state,
    i.mounts.map((m) => `${m.service}[${m.replica}]${m.readOnly ? ' ro' : ''}`).join(', ') || '-',
    i.lease ? `${i.lease.service}[${i.lease.replica}]` : '-',
  ]);
  return table(['NAME', 'KIND', 'PROJECT', 'SIZE', 'ALLOCATED', 'USED', 'STATE', 'MOUNTS', 'LEASE'], rows);
}

/** `1.2 GiB of 10.0 GiB (13%)` (the percentage as df's Use%), or `-` when unknown. */
export function usageText(usage: FilesystemUsage | undefined): string {
  if (!usage) return '-';
  return `${formatBytes(usage.usedBytes)} of ${formatBytes(usage.sizeBytes)} (${usedPercent(usage)}%)`;
}

/** `ROOT: 40.1 GiB free of 98.3 GiB; 12 storages promise 500.0 GiB (5.09× the filesystem), 3.2 GiB allocated` */
export function rootSpaceLine(space: RootSpace): string {
  const count = `${space.storageCount} ${space.storageCount === 1 ? 'storage promises' : 'storages promise'}`;
  return `${space.root}: ${formatBytes(space.freeBytes)} free of ${formatBytes(space.sizeBytes)}; ${count} ${formatBytes(space.nominalBytes)} (${space.overcommit.toFixed(2)}× the filesystem), ${formatBytes(space.allocatedBytes)} allocated`;
}

/** On a terminal a long line wraps at spaces to its width (as the table fits it); elsewhere it stays whole. */
function fitLine(line: string, stream: NodeJS.WriteStream = process.stdout): string {
  if (!stream.isTTY) return line;
  const width = stream.columns || 80;
  const out: string[] = [];
  let current = '';
  for (const word of line.split(' ')) {
    if (current && current.length + 1 + word.length > width) {
      out.push(current);
      current = `  ${word}`;
    } else current = current ? `${current} ${word}` : word;
  }
  out.push(current);
  return out.join('\n');
}

export function status(name: string, options: GlobalOptions): number {
  const entry = statusEntry(name, options);
  if (options.json) printJson(entry);
  else process.stdout.write(`${statusText(entry)}\n`);
  return 0;
}

export function statusText(item: StatusEntry): string {
  const { usage, rootSpace: space } = item;
  const lines = [
    `name:           ${item.name}`,
    `root:           ${space && space.root === item.root ? rootSpaceLine(space) : item.root}`,
    `kind:           ${item.kind}${item.project ? ` (project ${item.project}${item.stack ? `, stack ${item.stack}` : ''})` : ''}`,
    `state:          ${item.state}`,
    `path:           ${item.path}`,
    `size:           ${item.sizeGb === undefined ? '-' : `${item.sizeGb} GB`}${item.filesystem ? ` ${item.filesystem}` : ''}`,
    `allocated:      ${formatBytes(item.allocatedBytes)}`,
    `used:           ${usage ? `${usageText(usage)}, ${formatBytes(usage.freeBytes)} free (${usage.source === 'mounted' ? 'mounted' : 'superblock, as of its last unmount'})` : '-'}`,
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
