/** Scheduled snapshots on a real host with an injected clock: cron entries, run-due, catch-up, retention. */
import * as fs from 'node:fs';
import { converge, makeContext, remove } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { cronEntryPath, snapshotPolicyHandler } from '../../provider/handlers/snapshot-policy.js';
import { listSnapshots } from '../../provider/snapshots/snapshots.js';
import { hostTest, hostWithCronDir } from '../helpers/host-fixture.js';
import { storageWire } from '../helpers/specs.js';
import { hoststore, hoststoreAsync } from '../helpers/cli.js';

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
    retention_days: '',
    retention_count: '2',
    ...o,
  });
const runDueAt = (iso: string) =>
  hoststore(['snapshot', 'run-due', '--json', '--root', fx.host.root], undefined, {
    HOSTSTORE_NOW: iso,
    HOSTSTORE_CRON_DIR: fx.cronDir,
  });

hostTest()(
  'policy installs a cron entry; run-due takes due snapshots once, catches up once, prunes by retention',
  async () => {
    // GIVEN a disk and a nightly policy keeping 2 snapshots, applied on the 20th at noon
    await converge(storageHandler, ctxAt('2026-11-20T12:00:00Z'), storageHandler.validate(storageWire(fx.host.root)));
    await converge(snapshotPolicyHandler, ctxAt('2026-11-20T12:00:00Z'), policy());
    const entry = fs.readFileSync(cronEntryPath(policy()), 'utf8');
    expect(entry).toMatch(
      new RegExp(
        `^\\* \\* \\* \\* \\* root '/\\S+node' '/\\S+/dist/provider/cli\\.js' snapshot run-due --root '${fx.host.root}' >/dev/null$`,
        'm',
      ),
    );
    // WHEN run-due runs before the first 04:00 THEN nothing is taken
    expect(JSON.parse(runDueAt('2026-11-20T23:00:00Z').stdout).taken).toEqual([]);
    // WHEN it runs after 04:00 THEN one snapshot, and not again within the same window
    expect(JSON.parse(runDueAt('2026-11-21T04:00:30Z').stdout).taken).toHaveLength(1);
    expect(JSON.parse(runDueAt('2026-11-21T04:01:00Z').stdout).taken).toEqual([]);
    // WHEN the host was down for three nights THEN one catch-up snapshot, not three
    expect(JSON.parse(runDueAt('2026-11-24T09:00:00Z').stdout).taken).toHaveLength(1);
    expect(JSON.parse(runDueAt('2026-11-25T04:00:05Z').stdout)).toMatchObject({
      taken: [expect.anything()],
      pruned: [expect.stringMatching(/^data\.20261121T040030Z\.disk$/)],
    });
    expect(listSnapshots(ctxAt('2026-11-25T05:00:00Z'), 'data').map((s) => s.id)).toEqual([
      'data.20261124T090000Z.disk',
      'data.20261125T040005Z.disk',
    ]);
    // WHEN retention changes THEN the plan says which existing snapshots the next prune deletes, and prune does
    const ctx = ctxAt('2026-11-25T05:00:00Z');
    const changed = policy({ retention_count: '1' });
    const diff = snapshotPolicyHandler.diff(ctx, changed, snapshotPolicyHandler.read(ctx, changed));
    expect(diff.changes).toContainEqual(
      expect.objectContaining({
        field: 'snapshots',
        reason: 'the next prune deletes 1 existing snapshot(s): data.20261124T090000Z.disk',
      }),
    );
    await converge(snapshotPolicyHandler, ctx, changed);
    expect(hoststore(['snapshot', 'prune', '--dry-run', '--root', fx.host.root]).stdout).toMatch(
      /would prune:\n {2}data\.20261124T090000Z/,
    );
    expect(listSnapshots(ctx, 'data')).toHaveLength(2);
    expect(hoststore(['snapshot', 'prune', '--root', fx.host.root]).stdout).toMatch(
      /pruned:\n {2}data\.20261124T090000Z/,
    );
    // WHEN the policy is removed THEN its cron entry goes and the snapshots stay
    await remove(snapshotPolicyHandler, ctx, changed);
    expect(fs.readdirSync(fx.cronDir)).toEqual([]);
    expect(listSnapshots(ctx, 'data')).toHaveLength(1);
  },
);

hostTest()('two run-due at once take the due snapshot once', async () => {
  await converge(storageHandler, ctxAt('2026-11-20T12:00:00Z'), storageHandler.validate(storageWire(fx.host.root)));
  await converge(snapshotPolicyHandler, ctxAt('2026-11-20T12:00:00Z'), policy());
  const env = { HOSTSTORE_NOW: '2026-11-21T04:00:30Z', HOSTSTORE_CRON_DIR: fx.cronDir };
  const runs = [0, 1].map(() =>
    hoststoreAsync(['snapshot', 'run-due', '--json', '--root', fx.host.root], undefined, env),
  );
  const results = await Promise.all(runs.map((r) => r.done));
  expect(results.map((r) => r.status)).toEqual([0, 0]);
  expect(results.map((r) => JSON.parse(r.stdout).taken.length).sort()).toEqual([0, 1]);
  expect(listSnapshots(ctxAt('2026-11-21T05:00:00Z'), 'data')).toHaveLength(1);
});
