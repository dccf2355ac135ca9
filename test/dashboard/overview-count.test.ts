/**
 * The overview's count line says how many storage items it read: "1 storage", "2 storages" (as `list`'s root line
 * says "1 storage promises", "3 storages promise"), never "2 storage".
 */
import type { HostData, OverviewData, StorageRow } from '../../provider/dashboard/api.js';
import { overviewPage } from '../../provider/dashboard/views/overview.js';

const row = (name: string): StorageRow =>
  ({
    root: '/srv/hs',
    name,
    kind: 'directory',
    project: 'shop',
    stack: 'shop',
    state: 'available',
    path: `/srv/hs/projects/shop/directories/${name}`,
    removalPolicy: 'retain',
    mounts: [],
    host: 'local',
  }) as unknown as StorageRow;

const render = async (count: number): Promise<string> => {
  const host = {
    host: 'local',
    roots: [],
    storage: Array.from({ length: count }, (_, i) => row(`d${i + 1}`)),
    leases: [],
    snapshots: [],
    backups: [],
  } as unknown as HostData;
  const data: OverviewData = { generatedAt: '2026-11-28T06:00:00.000Z', hosts: [], attention: [] };
  return String(await overviewPage(data, [host]));
};

test('the count line says "1 storage" for one item and "2 storages" for two', async () => {
  // GIVEN an overview of one host holding one, then two storage items
  // WHEN it is rendered
  const one = (await render(1)).replace(/\s+/g, ' ');
  const two = (await render(2)).replace(/\s+/g, ' ');
  // THEN the count line uses the plural for more than one
  expect(one).toContain('1 storage on 1 host');
  expect(two).toContain('2 storages on 1 host');
});
