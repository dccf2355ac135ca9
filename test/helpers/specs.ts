/** Wire specs as the synthesized carriers send them (all strings), with overrides per test. */
import { replicaHostPath, type MountSpecWire, type StorageSpecWire } from '../../src/schema.js';

export function storageWire(root: string, overrides: Partial<StorageSpecWire> = {}): StorageSpecWire {
  return {
    kind: 'disk',
    root,
    project: 'app',
    name: 'data',
    stack: 'test',
    size_gb: '1',
    filesystem: 'ext4',
    shared: 'false',
    removal_policy: 'retain',
    from_snapshot: '',
    ...overrides,
  };
}

export function mountWire(root: string, overrides: Partial<MountSpecWire> = {}): MountSpecWire {
  const base = {
    root,
    project: 'app',
    stack: 'test',
    storage: 'data',
    storage_kind: 'disk' as const,
    service: 'web',
    replica: '1',
    mount_path: '/data',
    read_only: 'false',
    ...overrides,
  };
  return {
    host_path: replicaHostPath(base.root, base.project, base.service, Number(base.replica), base.mount_path),
    ...base,
    ...overrides,
  } as MountSpecWire;
}
