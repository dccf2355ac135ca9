/**
 * /metrics text from built HostData, parsed back line by line (HELP, TYPE, samples with escaped labels):
 * every series has the value it should, a host that could not be read is down, and a `"`, `\` or newline
 * in a label value comes back as it was.
 */
import { metricsText } from '../../provider/dashboard/metrics.js';
import type { HostData, StorageRow } from '../../provider/dashboard/api.js';
import type { SnapshotEntry } from '../../provider/commands/read-data.js';

const GiB = 1024 ** 3;
const NOW = new Date('2026-11-28T12:00:00Z');

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The exposition format (0.0.4): `# HELP name text`, `# TYPE name gauge`, `name{a="v",...} value`. */
function parse(text: string): { samples: Sample[]; types: Record<string, string>; helps: Record<string, string> } {
  expect(text.endsWith('\n')).toBe(true);
  const samples: Sample[] = [];
  const types: Record<string, string> = {};
  const helps: Record<string, string> = {};
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      helps[m[1]] = m[2];
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|histogram|summary|untyped)$/.exec(line);
    if (m) {
      types[m[1]] = m[2];
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a metrics line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const rest = m[2] ?? '';
    const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/y;
    while (label.lastIndex < rest.length) {
      const l = label.exec(rest);
      if (!l) throw new Error(`bad labels in ${JSON.stringify(line)}`);
      labels[l[1]] = l[2].replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { samples, types, helps };
}

const row = (name: string, o: Partial<StorageRow> = {}): StorageRow =>
  ({
    root: '/srv/hs',
    host: 'local',
    name,
    kind: 'disk',
    project: 'app',
    sizeGb: 10,
    filesystem: 'ext4',
    allocatedBytes: 3 * GiB,
    usage: { sizeBytes: 9 * GiB, usedBytes: 2 * GiB, freeBytes: 6 * GiB, source: 'mounted' },
    state: 'mounted',
    path: `/srv/hs/disks/${name}.img`,
    mounts: [
      { project: 'app', service: 'db', replica: 1, mountPath: '/d', hostPath: '/x/1', readOnly: false, mounted: true },
      { project: 'app', service: 'db', replica: 2, mountPath: '/d', hostPath: '/x/2', readOnly: false, mounted: false },
    ],
    ...o,
  }) as StorageRow;

const snap = (id: string, createdAt: string, trigger = 'scheduled'): SnapshotEntry =>
  ({
    root: '/srv/hs',
    id,
    kind: 'disk',
    project: 'app',
    storage: 'data',
    createdAt,
    trigger,
    state: 'ok',
    intact: true,
  }) as SnapshotEntry;

const hosts: HostData[] = [
  {
    host: 'local',
    roots: [
      {
        root: '/srv/hs',
        sizeBytes: 100 * GiB,
        freeBytes: 40 * GiB,
        nominalBytes: 510 * GiB,
        allocatedBytes: 3 * GiB,
        overcommit: 5.1,
        storageCount: 2,
      },
    ],
    storage: [
      row('data'),
      row('files', { kind: 'directory', sizeGb: undefined, allocatedBytes: undefined, usage: undefined, mounts: [] }),
    ],
    leases: [
      {
        root: '/srv/hs',
        disk: 'data',
        project: 'other',
        service: 'db',
        replica: 1,
        hostPath: '/x/1',
        since: '2026-11-28T00:00:00Z',
        stale: false,
      },
    ],
    snapshots: [
      snap('s1', '2026-11-28T10:00:00Z'),
      snap('s2', '2026-11-28T11:00:00Z'),
      snap('safety', '2026-11-28T11:59:00Z', 'safety'),
    ],
    backups: [
      {
        root: '/srv/hs',
        kind: 'disk',
        project: 'app',
        storage: 'data',
        repository: 'offsite',
        state: 'behind',
        lagSeconds: 3600,
      },
    ],
  },
  { host: 'storage-2', error: 'unreachable', roots: [], storage: [], leases: [], snapshots: [], backups: [] },
];

test('every series from built HostData, parsed back', async () => {
  const { samples, types, helps } = parse(await metricsText(hosts, NOW));
  const value = (name: string, labels: Record<string, string> = {}) => {
    const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    expect(found).toHaveLength(1);
    return found[0].value;
  };
  const data = { host: 'local', root: '/srv/hs', kind: 'disk', project: 'app', storage: 'data' };
  expect(samples.find((s) => s.name === 'hoststore_storage_size_bytes')!.labels).toEqual(data);
  expect(value('hoststore_storage_size_bytes', data)).toBe(10 * GiB);
  expect(value('hoststore_storage_allocated_bytes', data)).toBe(3 * GiB);
  expect(value('hoststore_storage_used_bytes', data)).toBe(2 * GiB);
  expect(value('hoststore_storage_free_bytes', data)).toBe(6 * GiB);
  expect(value('hoststore_storage_mounted', data)).toBe(1);
  expect(value('hoststore_snapshot_count', data)).toBe(3);
  // The newest snapshot that is the storage's history: 11:00, an hour before now (the safety one aside)
  expect(value('hoststore_snapshot_newest_age_seconds', data)).toBe(3600);
  expect(value('hoststore_backup_lag_seconds', { ...data, repository: 'offsite' })).toBe(3600);
  expect(samples.filter((s) => s.name === 'hoststore_backup_state').map((s) => `${s.labels.state}=${s.value}`)).toEqual(
    ['in-sync=0', 'behind=1', 'failing=0', 'stopped=0'],
  );
  // A lease is labelled as its disk is (project app, which made it), with the holder's service and replica
  expect(value('hoststore_lease_held', { ...data, service: 'db', replica: '1' })).toBe(1);
  expect(value('hoststore_lease_stale', { ...data, service: 'db', replica: '1' })).toBe(0);
  const root = { host: 'local', root: '/srv/hs' };
  expect(value('hoststore_root_size_bytes', root)).toBe(100 * GiB);
  expect(value('hoststore_root_free_bytes', root)).toBe(40 * GiB);
  expect(value('hoststore_root_nominal_bytes', root)).toBe(510 * GiB);
  expect(value('hoststore_root_allocated_bytes', root)).toBe(3 * GiB);
  expect(value('hoststore_root_overcommit_ratio', root)).toBe(5.1);
  expect(value('hoststore_host_up', { host: 'local' })).toBe(1);
  expect(value('hoststore_host_up', { host: 'storage-2' })).toBe(0);
  // A directory volume: no size or usage series, but its mounts and snapshots
  const files = { ...data, storage: 'files', kind: 'directory' };
  for (const name of ['hoststore_storage_size_bytes', 'hoststore_storage_used_bytes', 'hoststore_storage_free_bytes'])
    expect(samples.filter((s) => s.name === name && s.labels.storage === 'files')).toEqual([]);
  expect(value('hoststore_storage_mounted', files)).toBe(0);
  expect(value('hoststore_snapshot_count', files)).toBe(0);
  // Every metric is a documented gauge; nothing else (no process metrics)
  const names = new Set(samples.map((s) => s.name));
  expect([...names].sort()).toEqual(Object.keys(types).sort());
  for (const name of names) {
    expect(types[name]).toBe('gauge');
    expect(helps[name]).toMatch(/\S/);
    expect(name).toMatch(/^hoststore_/);
  }
  expect(names.size).toBe(17);
});

test('label values with a quote, a backslash and a newline are escaped and come back as they were', async () => {
  const odd = 'we"ird\\name\nx';
  const text = await metricsText(
    [{ host: 'h"1\\\n', roots: [], storage: [row(odd, { project: 'p"\\' })], leases: [], snapshots: [], backups: [] }],
    NOW,
  );
  // Each sample stays on one line
  for (const line of text.split('\n').filter((l) => l.startsWith('hoststore_storage_size_bytes')))
    expect(line).toMatch(/\} \d+$/);
  const { samples } = parse(text);
  const size = samples.find((s) => s.name === 'hoststore_storage_size_bytes')!;
  expect(size.labels).toEqual({ host: 'h"1\\\n', root: '/srv/hs', kind: 'disk', project: 'p"\\', storage: odd });
  expect(samples.find((s) => s.name === 'hoststore_host_up')!.labels).toEqual({ host: 'h"1\\\n' });
});

test('no hosts: only HELP and TYPE lines, nothing else', async () => {
  const { samples } = parse(await metricsText([], NOW));
  expect(samples).toEqual([]);
});
