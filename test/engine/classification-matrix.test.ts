/**
 * `hoststore diff` (old synth against new synth, no host) and `hoststore plan` (the host against the new
 * synth) classify every change the same: a matrix of one change per field of each kind, in the host
 * states that decide its class (mounted or not; ext4, xfs, btrfs or a directory), run through both.
 */
import * as fs from 'node:fs';
import { hostLoopsUnder, hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { Registry } from '../../provider/registry/store.js';
import { hoststore } from '../helpers/cli.js';
import { synthModel } from '../helpers/synth-model.js';
import type { AppModel, StorageModel } from '../helpers/cdktf-app.js';

let host: HostFixture;
const outs: string[] = [];
beforeEach(() => {
  host = makeHostFixture();
  // The matrix's snapshot policy installs a cron entry: under the root, never in the host's /etc/cron.d.
  process.env.HOSTSTORE_CRON_DIR = host.path('cron.d');
});
afterEach(() => {
  delete process.env.HOSTSTORE_CRON_DIR;
  host.cleanup();
  for (const out of outs.splice(0)) fs.rmSync(out, { recursive: true, force: true });
});

function synth(storage: StorageModel[]): string {
  const model: AppModel = { stack: 'm', root: host.root, storage };
  const out = synthModel(model);
  outs.push(out);
  return out;
}

const disk = (
  name: string,
  props: Record<string, unknown> = {},
  mounts: StorageModel['mounts'] = [],
): StorageModel => ({ id: name, type: 'Disk', props: { name, sizeGb: 1, ...props }, mounts });
const mountAt = (id: string, service: string, extra: Record<string, unknown> = {}) => [
  { id, service, mountPath: '/d', ...extra },
];

/** One case a line: [address, its model before, its model after, the class both must give]. */
interface Case {
  readonly address: string;
  readonly before: StorageModel[];
  readonly after: StorageModel[];
  readonly expected: { action: string; safety: string; kinds?: string[] };
}

const cases: Case[] = [
  // A grow needs downtime only where ext4 is mounted (the kernel may refuse to grow it online).
  {
    address: 'm/app/e4m',
    before: [disk('e4m', {}, mountAt('e4m-mount', 'e4m'))],
    after: [disk('e4m', { sizeGb: 2 }, mountAt('e4m-mount', 'e4m'))],
    expected: { action: 'update', safety: 'downtime', kinds: ['grow'] },
  },
  {
    address: 'm/app/e4u',
    before: [disk('e4u')],
    after: [disk('e4u', { sizeGb: 2 })],
    expected: { action: 'update', safety: 'safe', kinds: ['grow'] },
  },
  {
    address: 'm/app/xfm',
    before: [disk('xfm', { filesystem: 'xfs' }, mountAt('xfm-mount', 'xfm'))],
    after: [disk('xfm', { filesystem: 'xfs', sizeGb: 2 }, mountAt('xfm-mount', 'xfm'))],
    expected: { action: 'update', safety: 'safe', kinds: ['grow'] },
  },
  {
    address: 'm/app/xfu',
    before: [disk('xfu', { filesystem: 'xfs' })],
    after: [disk('xfu', { filesystem: 'xfs', sizeGb: 2 })],
    expected: { action: 'update', safety: 'safe', kinds: ['grow'] },
  },
  {
    address: 'm/app/btm',
    before: [disk('btm', { filesystem: 'btrfs' }, mountAt('btm-mount', 'btm'))],
    after: [disk('btm', { filesystem: 'btrfs', sizeGb: 2 }, mountAt('btm-mount', 'btm'))],
    expected: { action: 'update', safety: 'safe', kinds: ['grow'] },
  },
  {
    address: 'm/app/btu',
    before: [disk('btu', { filesystem: 'btrfs' })],
    after: [disk('btu', { filesystem: 'btrfs', sizeGb: 2 })],
    expected: { action: 'update', safety: 'safe', kinds: ['grow'] },
  },
  {
    address: 'm/app/vm',
    before: [{ id: 'vm', type: 'Volume', props: { sizeGb: 1, shared: true }, mounts: mountAt('vm-mount', 'vm') }],
    after: [{ id: 'vm', type: 'Volume', props: { sizeGb: 2, shared: true }, mounts: mountAt('vm-mount', 'vm') }],
    expected: { action: 'update', safety: 'downtime', kinds: ['grow'] },
  },
  {
    address: 'm/app/vu',
    before: [{ id: 'vu', type: 'Volume', props: { sizeGb: 1, shared: true } }],
    after: [{ id: 'vu', type: 'Volume', props: { sizeGb: 2, shared: true } }],
    expected: { action: 'update', safety: 'safe', kinds: ['grow'] },
  },
  // A volume is never shrunk (refused); a disk's smaller size is ignored and said so.
  {
    address: 'm/app/vs',
    before: [{ id: 'vs', type: 'Volume', props: { sizeGb: 2, shared: true } }],
    after: [{ id: 'vs', type: 'Volume', props: { sizeGb: 1, shared: true } }],
    expected: { action: 'update', safety: 'refused', kinds: ['shrink'] },
  },
  {
    address: 'm/app/ds',
    before: [disk('ds', { sizeGb: 2 })],
    after: [disk('ds', { sizeGb: 1 })],
    expected: { action: 'no-op', safety: 'safe', kinds: ['kept'] },
  },
  {
    address: 'm/app/dn',
    before: [disk('dn', { sizeGb: 2 })],
    after: [disk('dn', { sizeGb: undefined })],
    expected: { action: 'no-op', safety: 'safe' },
  },
  {
    address: 'm/app/fs',
    before: [disk('fs')],
    after: [disk('fs', { filesystem: 'xfs' })],
    expected: { action: 'update', safety: 'refused', kinds: ['reformat'] },
  },
  {
    address: 'm/app/rp',
    before: [disk('rp')],
    after: [disk('rp', { removalPolicy: 'destroy' })],
    expected: { action: 'update', safety: 'safe', kinds: ['setting'] },
  },
  // A Mount: read-only remounts in place; other storage at the same place replaces it (Terraform
  // replaces its identity carrier: the old storage is unmounted, then the new one mounted).
  {
    address: 'm/app/ro-mount',
    before: [disk('ro', {}, mountAt('ro-mount', 'ro'))],
    after: [disk('ro', {}, mountAt('ro-mount', 'ro', { readOnly: true }))],
    expected: { action: 'update', safety: 'safe', kinds: ['remount'] },
  },
  {
    address: 'm/app/dir-mount',
    before: [{ id: 'dir', type: 'Volume', props: { type: 'directory' }, mounts: mountAt('dir-mount', 'dir') }],
    after: [
      {
        id: 'dir',
        type: 'Volume',
        props: { type: 'directory' },
        mounts: mountAt('dir-mount', 'dir', { readOnly: true }),
      },
    ],
    expected: { action: 'update', safety: 'safe', kinds: ['remount'] },
  },
  {
    address: 'm/app/sw-mount',
    before: [disk('swa', {}, mountAt('sw-mount', 'sw')), disk('swb')],
    after: [disk('swa'), disk('swb', {}, mountAt('sw-mount', 'sw'))],
    expected: { action: 'replace', safety: 'downtime', kinds: ['replace'] },
  },
  // Another place is another Mount: created there (the old one is removed, below).
  {
    address: 'm/app/mv-mount',
    before: [disk('mv', {}, mountAt('mv-mount', 'mv'))],
    after: [disk('mv', {}, [{ id: 'mv-mount', service: 'mv', mountPath: '/e' }])],
    expected: { action: 'create', safety: 'safe', kinds: ['create'] },
  },
  // A snapshot policy's schedule changes in place.
  {
    address: 'm/app/nightly',
    before: [
      {
        id: 'pv',
        type: 'Volume',
        props: { sizeGb: 1, shared: true },
        policy: { id: 'nightly', schedule: '0 4 * * *', retentionDays: 7 },
      },
    ],
    after: [
      {
        id: 'pv',
        type: 'Volume',
        props: { sizeGb: 1, shared: true },
        policy: { id: 'nightly', schedule: '0 3 * * *', retentionDays: 14 },
      },
    ],
    expected: { action: 'update', safety: 'safe', kinds: ['setting', 'setting'] },
  },
];

interface Item {
  readonly address: string;
  readonly action: string;
  readonly safety: string;
  readonly changes: Array<{ field: string; safety: string; kind?: string }>;
}

/** What both must agree on: the action, the worst safety, and each change's field, kind and safety. */
function classOf(item: Item | undefined) {
  if (!item) return undefined;
  const changes = item.changes
    .filter((c) => c.field !== 'owner')
    .map((c) => `${c.field}:${c.kind ?? '?'}:${c.safety}`)
    .sort();
  return { action: item.action, safety: item.safety, changes };
}

hostTest('mkfs.xfs', 'mkfs.btrfs')(
  'diff and plan classify every change of every kind the same, in each host state',
  () => {
    // GIVEN the host converged to the old synth
    const base = synth(cases.flatMap((c) => c.before));
    const next = synth(cases.flatMap((c) => c.after));
    const applied = hoststore(['apply', '--app', base, '--auto-approve']);
    expect(applied.stderr).toBe('');
    expect(applied.status).toBe(0);

    // WHEN the change is judged from the two synth outputs, and from the host
    const diff = hoststore(['diff', '--base', base, '--app', next, '--format', 'json']);
    const plan = hoststore(['plan', '--app', next, '--format', 'json']);
    // A refused change is named on stderr in one line (and exits 3); anything else there is a failure.
    const refusedLine = /^(|hoststore: \d+ changes? (is|are) refused [^\n]*\n)$/;
    expect(diff.stderr).toMatch(refusedLine);
    expect(plan.stderr).toMatch(refusedLine);
    const diffItems = JSON.parse(diff.stdout).items as Item[];
    const planItems = JSON.parse(plan.stdout).items as Item[];

    // THEN both give each case the same class, and the one it should have
    const judged = cases.map((c) => {
      const fromDiff = classOf(diffItems.find((i) => i.address === c.address));
      const fromPlan = classOf(planItems.find((i) => i.address === c.address));
      return { address: c.address, fromDiff, fromPlan, same: JSON.stringify(fromDiff) === JSON.stringify(fromPlan) };
    });
    expect(judged.filter((j) => !j.same)).toEqual([]);
    // AND both remove the Mount from its old place (diff by its address, plan through the project's manifest)
    expect(diffItems.filter((i) => i.action === 'delete').map((i) => i.address)).toEqual([
      'm/app/mv-mount (removed from code)',
    ]);
    expect(
      planItems
        .filter((i) => i.action === 'delete')
        .map((i) => `${i.address} ${(i as Item & { subject: string }).subject}`),
    ).toEqual([expect.stringMatching(/^m\/app \(removed from code\) mount mv -> mv\[1\]:\/d$/)]);
    for (const c of cases) {
      const got = classOf(planItems.find((i) => i.address === c.address));
      expect({ address: c.address, action: got?.action, safety: got?.safety }).toEqual({
        address: c.address,
        action: c.expected.action,
        safety: c.expected.safety,
      });
      if (c.expected.kinds) {
        const kinds = planItems
          .find((i) => i.address === c.address)!
          .changes.filter((ch) => ch.field !== 'owner')
          .map((ch) => ch.kind)
          .sort();
        expect({ address: c.address, kinds }).toEqual({ address: c.address, kinds: [...c.expected.kinds].sort() });
      }
    }
  },
);

hostTest()(
  'a Mount pointed at other storage is replaced as Terraform does: the old is unmounted and its lease released',
  () => {
    // GIVEN disk swa mounted at sw:/d and disk swb unmounted
    const base = synth([disk('swa', {}, mountAt('sw-mount', 'sw')), disk('swb')]);
    expect(hoststore(['apply', '--app', base, '--auto-approve']).status).toBe(0);
    const next = synth([disk('swa'), disk('swb', {}, mountAt('sw-mount', 'sw'))]);

    // WHEN the Mount is pointed at swb and applied
    const applied = hoststore(['apply', '--app', next, '--auto-approve']);
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toMatch(/-\+ replace mount swb -> sw\[1\]:\/d/);

    // THEN swb is mounted there and holds the lease; swa's lease is gone and nothing keeps its image attached
    const registry = new Registry(host.root);
    expect(registry.lease('swb')).toMatchObject({ project: 'app', service: 'sw', replica: 1 });
    expect(registry.lease('swa')).toBeUndefined();
    expect(hostLoopsUnder(host.root).length).toBe(1);
    expect(hoststore(['plan', '--app', next, '--detailed-exitcode'])).toMatchObject({ status: 0 });
  },
);

hostTest()('a Mount pointed at storage the same change creates is a replace in plan as in diff', () => {
  // GIVEN disk swa mounted at sw:/d
  const base = synth([disk('swa', {}, mountAt('sw-mount', 'sw'))]);
  expect(hoststore(['apply', '--app', base, '--auto-approve']).status).toBe(0);
  // WHEN the Mount is pointed at a disk swn that the same change declares
  const next = synth([disk('swa'), disk('swn', {}, mountAt('sw-mount', 'sw'))]);
  const diff = JSON.parse(hoststore(['diff', '--base', base, '--app', next, '--format', 'json']).stdout);
  const plan = JSON.parse(hoststore(['plan', '--app', next, '--format', 'json']).stdout);

  // THEN both call it a replace with downtime (swa is unmounted there, then swn mounted)
  const mountItem = (p: { items: Item[] }) => classOf(p.items.find((i) => i.address === 'm/app/sw-mount'));
  expect(mountItem(plan)).toEqual(mountItem(diff));
  expect(mountItem(plan)).toMatchObject({ action: 'replace', safety: 'downtime' });
  // (swn is new and empty where sw saw swa's data: that is data-loss, named to go ahead)
  const applied = hoststore(['apply', '--app', next, '--auto-approve', '--allow-data-loss', 'swn']);
  expect(applied.stdout).toMatch(/-\+ replace +mount swn -> sw\[1\]:\/d/);
  expect(applied.stdout).toMatch(/swa: unmounted from app\/sw replica 1/);
  expect(new Registry(host.root).lease('swn')).toMatchObject({ service: 'sw' });
});
