/** SnapshotPolicy's `maxFreezeSeconds`: default, boundaries, rendering, and the wire rule the handler applies. */
import { App, TerraformStack, Testing } from 'cdktf';
import { SnapshotPolicy, StorageProject, Volume } from '../../src/index.js';
import { snapshotPolicyHandler } from '../../provider/handlers/snapshot-policy.js';
import { SpecError } from '../../provider/errors.js';
import { byPath, errors, synth } from './synth-helpers.js';
import { inputOf } from '../helpers/carrier-input.js';

const policy = (maxFreezeSeconds?: number) => (p: StorageProject) => {
  const v = new Volume(p, 'v', { sizeGb: 1, shared: true });
  new SnapshotPolicy(p, 'nightly', { storage: v, schedule: '0 4 * * *', maxFreezeSeconds });
};

test('maxFreezeSeconds defaults to 5, on the construct, the presets and the wire', () => {
  const stack = new TerraformStack(Testing.app() as App, 'stack');
  const project = new StorageProject(stack, 'proj');
  const volume = new Volume(project, 'db', { sizeGb: 10 });
  expect(new SnapshotPolicy(project, 'nightly', { storage: volume, schedule: '0 4 * * *' }).maxFreezeSeconds).toBe(5);
  expect(SnapshotPolicy.daily(project, 'daily', { storage: volume, maxFreezeSeconds: 30 }).maxFreezeSeconds).toBe(30);
  expect(SnapshotPolicy.hourly(project, 'hourly', { storage: volume, maxFreezeSeconds: 0.5 }).maxFreezeSeconds).toBe(
    0.5,
  );
  expect(inputOf(byPath(synth(policy()))['stack/proj/nightly/identity'])).toMatchObject({
    max_freeze_seconds: '5',
  });
  expect(inputOf(byPath(synth(policy(2.5)))['stack/proj/nightly/identity'])).toMatchObject({
    max_freeze_seconds: '2.5',
  });
  // the identity triggers do not carry it: changing the bound never replaces the policy
  expect(byPath(synth(policy(2.5)))['stack/proj/nightly/identity'].triggers_replace).not.toHaveProperty(
    'max_freeze_seconds',
  );
});

test.each([
  [0.1, true],
  [0.09, false],
  [3600, true],
  [3600.5, false],
  [0, false],
  [-1, false],
  [Number.NaN, false],
  [Number.POSITIVE_INFINITY, false],
])('maxFreezeSeconds %p valid=%p', (value, valid) => {
  const problems = errors(policy(value));
  if (valid) expect(problems).toEqual([]);
  else
    expect(problems).toEqual([
      expect.stringMatching(
        new RegExp(
          `^\\[stack/proj/nightly\\] \`maxFreezeSeconds\` must be (from 0\\.1 to 3600 seconds|a number of seconds) \\(got ${String(value).replace('.', '\\.')}\\)$`,
        ),
      ),
    ]);
});

test('a string is refused at synth', () => {
  expect(
    errors((p) => {
      const v = new Volume(p, 'v', { sizeGb: 1, shared: true });
      new SnapshotPolicy(p, 'nightly', {
        storage: v,
        schedule: '0 4 * * *',
        maxFreezeSeconds: '5' as unknown as number,
      });
    }),
  ).toEqual(['[stack/proj/nightly] `maxFreezeSeconds` must be a number of seconds (got "5")']);
});

describe('the wire rule', () => {
  const wire = (o: Record<string, string | undefined>) => ({
    root: '/srv/hoststore',
    project: 'app',
    stack: 's',
    policy: 'nightly',
    storage: 'data',
    storage_kind: 'disk',
    schedule: '0 4 * * *',
    retention_days: '7',
    retention_count: '',
    ...o,
  });
  test('absent (carriers of earlier builds) or empty means the default; digits are converted', () => {
    expect(snapshotPolicyHandler.validate(wire({})).max_freeze_seconds).toBe(5);
    expect(snapshotPolicyHandler.validate(wire({ max_freeze_seconds: '' })).max_freeze_seconds).toBe(5);
    expect(snapshotPolicyHandler.validate(wire({ max_freeze_seconds: '0.1' })).max_freeze_seconds).toBe(0.1);
    expect(snapshotPolicyHandler.validate(wire({ max_freeze_seconds: '3600' })).max_freeze_seconds).toBe(3600);
  });
  test.each([['0.09'], ['3601'], ['1e3'], ['-1'], [' 5'], ['five']])(
    '%p is refused with the field and the value',
    (value) => {
      expect(() => snapshotPolicyHandler.validate(wire({ max_freeze_seconds: value }))).toThrow(SpecError);
      expect(() => snapshotPolicyHandler.validate(wire({ max_freeze_seconds: value }))).toThrow(
        new RegExp(`max_freeze_seconds: must be .* \\(got "${value.replace('.', '\\.')}"\\)`),
      );
    },
  );
});
