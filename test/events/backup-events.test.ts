/**
 * The journal of off-host backups, with a real restic repository on a local path: pushes by run-due (cron),
 * a failed push, remote retention forgetting backups, and a restore from a backup by hand; never the password.
 */
import { jest } from '@jest/globals';
import * as fs from 'node:fs';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { snapshotPolicyHandler } from '../../provider/handlers/snapshot-policy.js';
import { hostTest, hostWithCronDir } from '../helpers/host-fixture.js';
import { storageWire } from '../helpers/specs.js';
import { hoststore } from '../helpers/cli.js';
import { cutOff, makeRepository, replicatedPolicyWire, type TestRepository } from '../backup/flow-fixture.js';
import { eventWords, journalEvents } from './journal-lines.js';

jest.setTimeout(240_000);

const fx = hostWithCronDir();
let repo: TestRepository | undefined;
afterEach(() => {
  repo?.remove();
  repo = undefined;
});

const runDueAt = (iso: string) =>
  hoststore(['snapshot', 'run-due', '--json', '--root', fx.host.root], undefined, { HOSTSTORE_NOW: iso });

hostTest('restic')('pushed, push-failed and backups-pruned by cron; restored from a backup by the CLI', async () => {
  // GIVEN a disk and a nightly policy pushed to a repository that keeps 1 backup of it
  repo = makeRepository();
  const ctx = makeContext(fx.host.root, { log: () => undefined, now: () => new Date('2026-11-20T12:00:00Z') });
  await converge(storageHandler, ctx, storageHandler.validate(storageWire(fx.host.root)));
  await converge(
    snapshotPolicyHandler,
    ctx,
    snapshotPolicyHandler.validate(
      replicatedPolicyWire(fx.host.root, repo.wire, { remote_retention_count: '1' }),
    ) as never,
  );
  const before = eventWords(fx.host.root, 'data').length;
  // WHEN the first night's snapshot is pushed, the second night's push fails, and the third's goes through
  expect(runDueAt('2026-11-21T04:00:30Z').status).toBe(0);
  const reconnect = cutOff(repo);
  expect(runDueAt('2026-11-22T04:00:30Z').status).toBe(1);
  reconnect();
  expect(runDueAt('2026-11-23T04:00:30Z').status).toBe(0);
  // THEN the history has each, by cron
  expect(eventWords(fx.host.root, 'data').slice(before)).toEqual([
    'snapshot-taken cron',
    'pushed cron',
    'snapshot-taken cron',
    'push-failed cron',
    'snapshot-taken cron',
    'pushed cron',
    'backups-pruned cron',
  ]);
  const events = journalEvents(fx.host.root).filter((e) => e.storage === 'data');
  const pushed = events.filter((e) => e.event === 'pushed');
  expect(pushed[0]).toMatchObject({
    kind: 'disk',
    project: 'app',
    stack: 'test',
    detail: {
      repository: 'offsite',
      snapshot: 'data.20261121T040030Z.disk',
      backup: expect.stringMatching(/^[0-9a-f]{8}$/),
      backupId: expect.stringMatching(/^[0-9a-f]{64}$/),
      bytesAdded: expect.any(Number),
    },
  });
  expect(events.find((e) => e.event === 'push-failed')).toMatchObject({
    message: expect.stringMatching(/^push of snapshot data\.20261122T040030Z\.disk to repository offsite failed: /),
    detail: { repository: 'offsite', snapshot: 'data.20261122T040030Z.disk' },
  });
  expect(events.find((e) => e.event === 'backups-pruned')).toMatchObject({
    stack: 'test',
    detail: { repository: 'offsite', count: 1, backups: pushed[0].detail?.backup },
  });
  // WHEN a person restores the newest backup as a new disk
  const newest = String(pushed[1].detail?.backup);
  const restored = hoststore([
    'backup',
    'restore',
    newest,
    '--to',
    'back',
    '--repository',
    'offsite',
    '--root',
    fx.host.root,
  ]);
  expect(restored.status).toBe(0);
  // THEN the source's history says where it went, and the new disk's starts with its creation
  expect(eventWords(fx.host.root, 'data').slice(-1)).toEqual(['restored cli']);
  expect(
    journalEvents(fx.host.root)
      .filter((e) => e.storage === 'data')
      .pop()?.detail,
  ).toEqual({
    from: 'backup',
    backup: newest,
    snapshot: 'data.20261123T040030Z.disk',
    repository: 'offsite',
    into: 'back',
  });
  expect(eventWords(fx.host.root, 'back')).toEqual(['created cli']);
  // AND the journal never holds the password
  const password = fs.readFileSync(repo.passwordFile, 'utf8').trim();
  expect(password.length).toBeGreaterThan(8);
  expect(fs.readFileSync(fx.host.path('registry', 'journal.log'), 'utf8')).not.toContain(password);
});
