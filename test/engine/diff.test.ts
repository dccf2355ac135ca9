/** `hoststore diff`: what a pull request changes, from two synth outputs, with no host involved. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hoststore } from '../helpers/cli.js';
import { synthModel } from '../helpers/synth-model.js';
import type { AppModel, StorageModel } from '../helpers/cdktf-app.js';

const outs: string[] = [];
afterEach(() => {
  for (const out of outs.splice(0)) fs.rmSync(out, { recursive: true, force: true });
});

function synth(storage: StorageModel[]): string {
  const model: AppModel = { stack: 'pr', root: path.join(os.tmpdir(), 'never-touched'), storage };
  const out = synthModel(model);
  outs.push(out);
  return out;
}

const base: StorageModel[] = [
  {
    id: 'pg',
    type: 'Disk',
    props: { name: 'pg', sizeGb: 20 },
    mounts: [{ id: 'pg-mount', service: 'db', mountPath: '/data' }],
  },
  { id: 'media', type: 'Disk', props: { name: 'media', sizeGb: 50, filesystem: 'xfs' } },
  {
    id: 'scratch',
    type: 'Volume',
    props: { sizeGb: 5, shared: true, removalPolicy: 'destroy' },
    mounts: [{ id: 'scratch-mount', service: 'web', mountPath: '/tmp/s', replicas: 2 }],
  },
  { id: 'old', type: 'Volume', props: { sizeGb: 1, shared: true } },
  {
    id: 'db',
    type: 'Volume',
    props: { sizeGb: 10 },
    policy: { id: 'nightly', schedule: '0 4 * * *', retentionDays: 7 },
  },
];

test('classifies every change of a pull request by what it does to data', () => {
  // GIVEN a change that grows, shrinks, reformats, drops a destroy-policy volume, drops a retained one,
  // toggles read-only and edits a schedule
  const next: StorageModel[] = [
    {
      id: 'pg',
      type: 'Disk',
      props: { name: 'pg', sizeGb: 40 },
      mounts: [{ id: 'pg-mount', service: 'db', mountPath: '/data', readOnly: true }],
    },
    { id: 'media', type: 'Disk', props: { name: 'media', sizeGb: 10, filesystem: 'btrfs' } },
    {
      id: 'db',
      type: 'Volume',
      props: { sizeGb: 10 },
      policy: { id: 'nightly', schedule: '0 3 * * *', retentionDays: 14 },
    },
    { id: 'fresh', type: 'Disk', props: { name: 'fresh', sizeGb: 1 } },
  ];
  const result = hoststore([
    'diff',
    '--base',
    synth(base),
    '--app',
    synth(next),
    '--format',
    'json',
    '--detailed-exitcode',
  ]);
  // (a refused change makes it exit 3, not 2: the change cannot be applied as it is)
  expect(result.status).toBe(3);
  const plan = JSON.parse(result.stdout);
  const item = (subject: RegExp) => plan.items.find((i: { subject: string }) => subject.test(i.subject));
  // THEN each change has the right action and safety class, with a reason
  expect(item(/^disk pg/)).toMatchObject({
    action: 'update',
    safety: 'downtime',
    changes: [expect.objectContaining({ field: 'size_gb', from: '20', to: '40' })],
  });
  expect(item(/^disk media/)).toMatchObject({ action: 'update', safety: 'refused' });
  expect(
    item(/^disk media/)
      .changes.map((c: { reason: string }) => c.reason)
      .join(' '),
  ).toMatch(/disk media is xfs; changing it to btrfs means reformatting.* kept at 50 GB; sizeGb 10 ignored/);
  expect(item(/^volume scratch/)).toMatchObject({ action: 'delete', safety: 'data-loss' });
  expect(item(/^volume old/)).toMatchObject({ action: 'retain', safety: 'safe' });
  expect(item(/^mount pg -> db\[1\]:\/data \(ro\)/)).toMatchObject({
    action: 'update',
    safety: 'safe',
    changes: [expect.objectContaining({ field: 'read_only', reason: 'remount in place' })],
  });
  expect(item(/^snapshot policy nightly/)).toMatchObject({
    action: 'update',
    changes: expect.arrayContaining([
      expect.objectContaining({ field: 'schedule', from: '0 4 * * *', to: '0 3 * * *' }),
    ]),
  });
  expect(item(/^disk fresh/)).toMatchObject({ action: 'create', safety: 'safe' });
  expect(plan.summary).toMatchObject({ refused: 1, 'data-loss': 1 });

  // AND the markdown a reviewer reads puts data at risk first
  const markdown = hoststore(['diff', '--base', synth(base), '--app', synth(next), '--format', 'markdown']).stdout;
  expect(markdown).toMatch(
    /^### hoststore plan\n\n> \*\*2 change\(s\) put data at risk or are refused:\*\*\n> - \*\*refused\*\*: update disk media/,
  );
  expect(markdown).toMatch(
    /> - \*\*data-loss\*\*: delete volume scratch .*removalPolicy 'destroy': its data is deleted/,
  );
  const table = markdown.split('\n').filter((l) => l.startsWith('| '));
  expect(table[2]).toMatch(/^\| refused \|/);
  expect(table[3]).toMatch(/^\| data-loss \|/);
  expect(markdown).toMatch(/<details><summary>\d+ unchanged<\/summary>/);
});

test('no change gives exit code 0 with --detailed-exitcode', () => {
  const result = hoststore(['diff', '--base', synth(base), '--app', synth(base), '--detailed-exitcode']);
  expect(result).toMatchObject({ status: 0, stdout: expect.stringMatching(/No changes/) });
});

test('a directory that is not a synth output is a clear error', () => {
  expect(hoststore(['diff', '--base', os.tmpdir(), '--app', os.tmpdir()])).toMatchObject({
    status: 2,
    stderr: expect.stringMatching(/is not a synth output \(no manifest\.json\)/),
  });
});
