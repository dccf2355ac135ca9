/**
 * The journal of what people and cron do: leases broken, refused and forced deletes, snapshots taken,
 * verified, restored and deleted by hand, scheduled snapshots and their pruning by `run-due`, and imports.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { snapshotPolicyHandler } from '../../provider/handlers/snapshot-policy.js';
import { hostTest, hostWithCronDir, makeHostFixture } from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { hoststore } from '../helpers/cli.js';
import { eventWords, journalEvents, lastEvent } from './journal-lines.js';

const fx = hostWithCronDir();
const ctx = (now?: string) =>
  makeContext(fx.host.root, { log: () => undefined, ...(now ? { now: () => new Date(now) } : {}) });
const cli = (...args: string[]) => hoststore([...args, '--root', fx.host.root]);
/** The refusal as the user read it: the first line of stderr without the program's name. */
const told = (stderr: string) => stderr.split('\n')[0].replace(/^hoststore: (error: )?/, '');
/** The events of `storage` from the `from`-th on, as `event actor` words. */
const since = (storage: string, from: number) => eventWords(fx.host.root, storage).slice(from);

hostTest()('a refused delete, a refused and a forced lease break, and a forced delete, by the CLI', async () => {
  // GIVEN a disk mounted (and so leased) by app/web replica 1
  await converge(storageHandler, ctx(), storageHandler.validate(storageWire(fx.host.root)));
  await converge(mountHandler, ctx(), mountHandler.validate(mountWire(fx.host.root)));
  const before = eventWords(fx.host.root, 'data').length;
  // WHEN a person deletes it, then breaks its live lease without and with --force
  const refusedDelete = cli('delete', 'data', '--yes');
  expect(refusedDelete.status).toBe(3);
  const refusedBreak = cli('lease', 'break', 'data', '--yes');
  expect(refusedBreak.status).toBe(3);
  expect(cli('lease', 'break', 'data', '--yes', '--force')).toMatchObject({ status: 0 });
  // AND deletes it with --force
  expect(cli('delete', 'data', '--yes', '--force')).toMatchObject({ status: 0 });
  // THEN each is in its history, by the CLI, refusals with the reason the user was told
  expect(since('data', before)).toEqual([
    'refused cli',
    'refused cli',
    'lease-broken cli',
    'unmounted cli',
    'deleted cli',
  ]);
  const refusals = journalEvents(fx.host.root).filter((e) => e.event === 'refused');
  expect(refusals.map((e) => e.reason)).toEqual([told(refusedDelete.stderr), told(refusedBreak.stderr)]);
  expect(refusals[0]).toMatchObject({ kind: 'disk', project: 'app', storage: 'data', message: refusals[0].reason });
  expect(lastEvent(fx.host.root, 'data', 'lease-broken')).toMatchObject({
    kind: 'disk',
    project: 'app',
    detail: { service: 'web', replica: 1, stale: false },
  });
  expect(lastEvent(fx.host.root, 'data', 'unmounted')?.detail).toMatchObject({ service: 'web', replica: 1 });
});

hostTest()('snapshots by hand: taken, verified, restored to a new name and in place, changed, deleted', async () => {
  // GIVEN an unmounted disk
  await converge(storageHandler, ctx(), storageHandler.validate(storageWire(fx.host.root)));
  const before = eventWords(fx.host.root, 'data').length;
  // WHEN a snapshot is taken and verified by hand
  const taken = cli('snapshot', 'create', 'data', '--json');
  expect(taken.status).toBe(0);
  const snapshot = JSON.parse(taken.stdout) as { id: string; path: string };
  expect(cli('snapshot', 'list', '--verify')).toMatchObject({ status: 0 });
  // AND restored to a new name, then in place
  expect(cli('snapshot', 'restore', snapshot.id, '--to', 'copy')).toMatchObject({ status: 0 });
  expect(cli('snapshot', 'restore', snapshot.id, '--in-place', '--yes')).toMatchObject({ status: 0 });
  // THEN
  const words = since('data', before);
  // (each restore hashes the snapshot first: a verification that really ran)
  expect(words).toEqual([
    'snapshot-taken cli',
    'snapshot-verified cli',
    'snapshot-verified cli',
    'restored cli',
    'snapshot-verified cli',
    'snapshot-taken cli',
    'restored cli',
  ]);
  const events = journalEvents(fx.host.root).filter((e) => e.storage === 'data');
  expect(events.find((e) => e.event === 'snapshot-taken')).toMatchObject({
    kind: 'disk',
    project: 'app',
    stack: 'test',
    detail: { snapshot: snapshot.id, trigger: 'manual', method: expect.any(String), freezeMs: 0 },
  });
  expect(events.find((e) => e.event === 'snapshot-verified')?.detail).toEqual({ snapshot: snapshot.id, result: 'ok' });
  expect(events.filter((e) => e.event === 'restored').map((e) => e.detail)).toEqual([
    { from: 'snapshot', snapshot: snapshot.id, into: 'copy' },
    { from: 'snapshot', snapshot: snapshot.id, into: 'in-place', safetySnapshot: expect.any(String) },
  ]);
  // The safety snapshot the in-place restore took first
  expect(events.filter((e) => e.event === 'snapshot-taken').map((e) => e.detail?.trigger)).toEqual([
    'manual',
    'safety',
  ]);
  expect(eventWords(fx.host.root, 'copy')).toEqual(['created cli']);
  expect(lastEvent(fx.host.root, 'copy', 'created')?.detail).toMatchObject({ fromSnapshot: snapshot.id });
  // WHEN the snapshot's content is changed behind hoststore's back THEN a verification says so
  fs.appendFileSync(snapshot.path, 'x');
  expect(cli('snapshot', 'list', '--verify').status).toBe(1);
  const verdicts = journalEvents(fx.host.root).filter(
    (e) => e.event === 'snapshot-verified' && e.detail?.snapshot === snapshot.id,
  );
  expect(verdicts.pop()?.detail).toEqual({ snapshot: snapshot.id, result: 'changed' });
  // AND a restore from it is refused, with its reason
  const refused = cli('snapshot', 'restore', snapshot.id, '--to', 'other');
  expect(refused.status).toBe(3);
  expect(lastEvent(fx.host.root, 'data', 'refused')?.reason).toBe(told(refused.stderr));
  // WHEN it is deleted THEN pruned, and a listing that only reads records hashes nothing (no event)
  expect(cli('snapshot', 'delete', snapshot.id)).toMatchObject({ status: 0 });
  expect(lastEvent(fx.host.root, 'data', 'snapshot-pruned')).toMatchObject({
    actor: 'cli',
    detail: { snapshot: snapshot.id, trigger: 'manual' },
  });
  const count = journalEvents(fx.host.root).length;
  expect(cli('snapshot', 'list')).toMatchObject({ status: 0 });
  expect(journalEvents(fx.host.root)).toHaveLength(count);
});

hostTest()('run-due takes and prunes scheduled snapshots as cron', async () => {
  // GIVEN a disk and a nightly policy keeping 1 snapshot
  await converge(storageHandler, ctx('2026-11-20T12:00:00Z'), storageHandler.validate(storageWire(fx.host.root)));
  const policy = snapshotPolicyHandler.validate({
    root: fx.host.root,
    project: 'app',
    policy: 'nightly',
    storage: 'data',
    storage_kind: 'disk',
    stack: 'test',
    schedule: '0 4 * * *',
    retention_days: '',
    retention_count: '1',
  });
  await converge(snapshotPolicyHandler, ctx('2026-11-20T12:00:00Z'), policy);
  expect(lastEvent(fx.host.root, 'data', 'changed')).toMatchObject({
    detail: { policy: 'nightly', schedule: '0 4 * * *', retentionCount: 1 },
  });
  const before = eventWords(fx.host.root, 'data').length;
  // WHEN run-due runs after two 04:00s
  const runDueAt = (iso: string) =>
    hoststore(['snapshot', 'run-due', '--root', fx.host.root], undefined, { HOSTSTORE_NOW: iso });
  expect(runDueAt('2026-11-21T04:00:30Z').status).toBe(0);
  expect(runDueAt('2026-11-22T04:00:30Z').status).toBe(0);
  // THEN two taken and the first pruned, by cron, at the clock's times
  expect(since('data', before)).toEqual(['snapshot-taken cron', 'snapshot-taken cron', 'snapshot-pruned cron']);
  const events = journalEvents(fx.host.root)
    .filter((e) => e.storage === 'data')
    .slice(before);
  expect(events.map((e) => e.time)).toEqual([
    '2026-11-21T04:00:30.000Z',
    '2026-11-22T04:00:30.000Z',
    '2026-11-22T04:00:30.000Z',
  ]);
  expect(events[0].detail).toMatchObject({ trigger: 'schedule', snapshot: 'data.20261121T040030Z.disk' });
  expect(events[2].detail).toEqual({ snapshot: 'data.20261121T040030Z.disk', trigger: 'schedule' });
});

hostTest('mkfs.ext4')('an import is adopted by the CLI, then adopted by the stack that declares it', () => {
  const outside = makeHostFixture('hoststore-events-import-');
  try {
    // GIVEN an ext4 image made outside the root (on the same filesystem, so it is moved in)
    const file = path.join(outside.root, 'pg.img');
    fs.closeSync(fs.openSync(file, 'w', 0o600));
    fs.truncateSync(file, 1024 ** 3);
    execFileSync('mkfs.ext4', ['-q', '-F', file], { stdio: 'pipe' });
    // WHEN it is imported, then declared by a stack
    expect(cli('import', file, '--name', 'pg')).toMatchObject({ status: 0 });
    expect(hoststore(['handle', 'storage', 'converge'], storageWire(fx.host.root, { name: 'pg' }))).toMatchObject({
      status: 0,
    });
    // THEN adopted twice: by the import (cli), then by Terraform's converge
    expect(eventWords(fx.host.root, 'pg')).toEqual(['adopted cli', 'adopted terraform']);
    const [imported, declared] = journalEvents(fx.host.root).filter((e) => e.storage === 'pg');
    expect(imported).toMatchObject({ kind: 'disk', project: '', detail: { source: file, copied: false, sizeGb: 1 } });
    expect(declared).toMatchObject({
      project: 'app',
      stack: 'test',
      detail: { wasRetained: true, sizeGb: 1, filesystem: 'ext4' },
    });
  } finally {
    outside.cleanup();
  }
});

hostTest()('a restore in place of a mounted disk: unmounted, restored, mounted again', async () => {
  // GIVEN a disk mounted by app/web replica 1, and a snapshot of it
  await converge(storageHandler, ctx(), storageHandler.validate(storageWire(fx.host.root)));
  await converge(mountHandler, ctx(), mountHandler.validate(mountWire(fx.host.root)));
  const taken = cli('snapshot', 'create', 'data', '--json');
  expect(taken.status).toBe(0);
  const before = eventWords(fx.host.root, 'data').length;
  // WHEN it is restored in place
  expect(cli('snapshot', 'restore', JSON.parse(taken.stdout).id, '--in-place', '--yes')).toMatchObject({ status: 0 });
  // THEN the history shows the mount taken down for the restore and put back after it
  expect(since('data', before)).toEqual([
    'snapshot-verified cli',
    'unmounted cli',
    'snapshot-taken cli',
    'restored cli',
    'mounted cli',
  ]);
  const events = journalEvents(fx.host.root).filter((e) => e.storage === 'data');
  expect(
    events
      .filter((e) => e.event === 'unmounted' || e.event === 'mounted')
      .slice(-2)
      .map((e) => e.detail),
  ).toEqual([
    expect.objectContaining({ service: 'web', replica: 1, readOnly: false }),
    expect.objectContaining({ service: 'web', replica: 1, readOnly: false }),
  ]);
});
