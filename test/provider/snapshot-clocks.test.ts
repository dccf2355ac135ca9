/**
 * Snapshots under a clock that jumps: retention never deletes a policy's newest snapshot, a last run in
 * the future is reported and scheduling restarts from now, and an invalid HOSTSTORE_NOW is refused.
 */
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { snapshotPolicyHandler } from '../../provider/handlers/snapshot-policy.js';
import { listSnapshots } from '../../provider/snapshots/snapshots.js';
import { toPrune } from '../../provider/snapshots/schedule.js';
import { hostChecks } from '../../provider/plan/plan.js';
import { hostTest, hostWithCronDir } from '../helpers/host-fixture.js';
import { storageWire } from '../helpers/specs.js';
import { hoststore } from '../helpers/cli.js';

const fx = hostWithCronDir();

const ctxAt = (iso: string) => makeContext(fx.host.root, { log: () => undefined, now: () => new Date(iso) });
const policy = (o: Record<string, string> = {}) =>
  snapshotPolicyHandler.validate({
    root: fx.host.root,
    project: 'app',
    policy: 'nightly',
    storage: 'data',
    storage_kind: 'disk',
    stack: 'test',
    schedule: '0 4 * * *',
    retention_days: '7',
    retention_count: '',
    ...o,
  });
const cliAt = (iso: string, ...args: string[]) =>
  hoststore([...args, '--root', fx.host.root], undefined, { HOSTSTORE_NOW: iso, HOSTSTORE_CRON_DIR: fx.cronDir });
const runDueAt = (iso: string) => {
  const result = cliAt(iso, 'snapshot', 'run-due', '--json');
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout);
};

test('retention never lets go of the newest snapshot, however far the clock moved', () => {
  const snaps = [
    { id: 'a', createdAt: '2026-11-21T04:00:00Z' },
    { id: 'b', createdAt: '2026-11-22T04:00:00Z' },
  ];
  expect(toPrune(snaps, { retentionDays: 7 }, new Date('2027-11-22T04:00:00Z')).map((s) => s.id)).toEqual(['a']);
  expect(
    toPrune(snaps, { retentionDays: 7, retentionCount: 1 }, new Date('2027-11-22T04:00:00Z')).map((s) => s.id),
  ).toEqual(['a']);
  expect(toPrune([snaps[0]], { retentionDays: 1 }, new Date('2030-01-01T00:00:00Z'))).toEqual([]);
});

hostTest()(
  'a year-long forward jump prunes all but the newest; back in time, the future last run is reported and scheduling restarts',
  async () => {
    // GIVEN a disk with a nightly policy keeping 7 days, and two nights of snapshots
    await converge(storageHandler, ctxAt('2026-11-20T12:00:00Z'), storageHandler.validate(storageWire(fx.host.root)));
    await converge(snapshotPolicyHandler, ctxAt('2026-11-20T12:00:00Z'), policy());
    expect(runDueAt('2026-11-21T04:00:30Z').taken).toHaveLength(1);
    expect(runDueAt('2026-11-22T04:00:30Z').taken).toHaveLength(1);
    // WHEN the clock jumps a year ahead and prune runs (no snapshot taken at the jumped time)
    const pruned = cliAt('2027-11-22T03:00:00Z', 'snapshot', 'prune');
    // THEN the newest snapshot survives
    expect(pruned).toMatchObject({ status: 0, stdout: expect.stringMatching(/pruned:\n {2}data\.20261121T040030Z/) });
    expect(listSnapshots(ctxAt('2026-11-22T05:00:00Z'), 'data').map((s) => s.id)).toEqual([
      expect.stringMatching(/^data\.20261122T040030Z/),
    ]);
    // WHEN run-due runs at the jumped time THEN it takes a snapshot stamped in the future
    expect(runDueAt('2027-11-22T04:00:30Z').taken).toHaveLength(1);
    // WHEN the clock comes back THEN the last run in the future is reported, in --json and as text
    const back = runDueAt('2026-11-22T10:00:00Z');
    expect(back.taken).toEqual([]);
    expect(back.warnings).toEqual([
      expect.stringMatching(
        /^snapshot policy nightly of disk data: its last run 2027-11-22T04:00:30\.000Z lies in the future \(now 2026-11-22T10:00:00\.000Z\): the clock moved back; scheduling restarts from now$/,
      ),
    ]);
    // AND it is reported once: the schedule restarted from now
    expect(runDueAt('2026-11-22T10:01:00Z').warnings).toEqual([]);
    // AND the next nightly window takes a snapshot again
    expect(runDueAt('2026-11-23T04:00:30Z').taken).toHaveLength(1);
  },
);

hostTest()("run-due prints a future last run as a warning line; the plan's host checks report it", async () => {
  await converge(storageHandler, ctxAt('2026-11-20T12:00:00Z'), storageHandler.validate(storageWire(fx.host.root)));
  await converge(snapshotPolicyHandler, ctxAt('2027-11-20T12:00:00Z'), policy());
  expect(hostChecks(ctxAt('2026-11-20T13:00:00Z'), [])).toContainEqual({
    level: 'warning',
    message: expect.stringMatching(
      /^snapshot policy nightly of disk data: its last run 2027-11-20T12:00:00\.000Z lies in the future .*run `hoststore snapshot run-due --root [^`]+` to restart its schedule from now$/,
    ),
  });
  const text = cliAt('2026-11-20T13:00:00Z', 'snapshot', 'run-due');
  expect(text).toMatchObject({
    status: 0,
    stderr: expect.stringMatching(
      /^hoststore: warning: snapshot policy nightly of disk data: its last run .* lies in the future/m,
    ),
  });
  expect(hostChecks(ctxAt('2026-11-20T13:00:00Z'), []).filter((c) => /in the future/.test(c.message))).toEqual([]);
});

hostTest()('an invalid HOSTSTORE_NOW is one line and exit 2 wherever it is read', async () => {
  await converge(storageHandler, ctxAt('2026-11-20T12:00:00Z'), storageHandler.validate(storageWire(fx.host.root)));
  for (const args of [
    ['snapshot', 'run-due'],
    ['snapshot', 'create', 'data'],
    ['snapshot', 'prune'],
  ]) {
    const result = cliAt('next tuesday', ...args);
    expect({ args, status: result.status, stderr: result.stderr }).toEqual({
      args,
      status: 2,
      stderr:
        'hoststore: HOSTSTORE_NOW must be an ISO 8601 time such as 2026-11-20T04:00:00Z (got "next tuesday"); fix it or unset it to use the system clock\n',
    });
  }
  const handled = hoststore(
    ['handle', 'snapshot-policy', 'converge'],
    {
      root: fx.host.root,
      project: 'app',
      policy: 'nightly',
      storage: 'data',
      storage_kind: 'disk',
      stack: 'test',
      schedule: '0 4 * * *',
      retention_days: '7',
      retention_count: '',
    },
    { HOSTSTORE_NOW: '2026-13-45T00:00:00Z', HOSTSTORE_CRON_DIR: fx.cronDir },
  );
  expect(handled).toMatchObject({
    status: 2,
    stderr: expect.stringMatching(
      /^hoststore: HOSTSTORE_NOW must be an ISO 8601 time .*\(got "2026-13-45T00:00:00Z"\)/,
    ),
  });
  expect(listSnapshots(ctxAt('2026-11-20T12:00:00Z'))).toEqual([]);
});
