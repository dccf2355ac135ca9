/** A snapshot policy's cron entry is part of what is read and converged, and is removed from where it was written. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { converge, makeContext, remove } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { cronEntryPath, snapshotPolicyHandler } from '../../provider/handlers/snapshot-policy.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { storageWire } from '../helpers/specs.js';

let host: HostFixture;
let cronDir: string;
beforeEach(() => {
  host = makeHostFixture();
  cronDir = path.join(host.root, 'cron.d');
  process.env.HOSTSTORE_CRON_DIR = cronDir;
});
afterEach(() => {
  delete process.env.HOSTSTORE_CRON_DIR;
  host.cleanup();
});

const ctx = () => makeContext(host.root, { log: () => undefined });
const policy = () => snapshotPolicyHandler.validate({
  root: host.root, project: 'app', policy: 'nightly', storage: 'data', storage_kind: 'disk', stack: 'test',
  schedule: '0 4 * * *', retention_days: '', retention_count: '2',
});

hostTest('mkfs.ext4')('a failed cron write is not recorded as converged; the next converge writes the entry', async () => {
  await converge(storageHandler, ctx(), storageHandler.validate(storageWire(host.root)));
  // GIVEN a cron directory that cannot be written (a file in its place)
  fs.writeFileSync(cronDir, 'not a directory');
  await expect(converge(snapshotPolicyHandler, ctx(), policy())).rejects.toThrow();
  fs.rmSync(cronDir);
  // WHEN converged again THEN the entry is written
  const diff = await converge(snapshotPolicyHandler, ctx(), policy());
  expect(diff.action).not.toBe('none');
  expect(fs.readFileSync(cronEntryPath(policy()), 'utf8')).toMatch(/snapshot run-due --root /);
});

hostTest('mkfs.ext4')('read checks the cron entry: a deleted or edited entry is a change that converge repairs', async () => {
  await converge(storageHandler, ctx(), storageHandler.validate(storageWire(host.root)));
  await converge(snapshotPolicyHandler, ctx(), policy());
  const entry = cronEntryPath(policy());
  const body = fs.readFileSync(entry, 'utf8');
  expect(snapshotPolicyHandler.diff(ctx(), policy(), snapshotPolicyHandler.read(ctx(), policy()))).toEqual({ action: 'none', changes: [] });
  for (const damage of [() => fs.rmSync(entry), () => fs.writeFileSync(entry, '# emptied\n')]) {
    damage();
    const diff = snapshotPolicyHandler.diff(ctx(), policy(), snapshotPolicyHandler.read(ctx(), policy()));
    expect(diff).toEqual({ action: 'update', changes: [expect.objectContaining({ field: 'cron', safety: 'safe' })] });
    await converge(snapshotPolicyHandler, ctx(), policy());
    expect(fs.readFileSync(entry, 'utf8')).toBe(body);
  }
});

hostTest('mkfs.ext4')('a policy removed under another HOSTSTORE_CRON_DIR removes the entry where it was written', async () => {
  await converge(storageHandler, ctx(), storageHandler.validate(storageWire(host.root)));
  await converge(snapshotPolicyHandler, ctx(), policy());
  const written = cronEntryPath(policy());
  expect(fs.existsSync(written)).toBe(true);
  // WHEN the policy is removed by a process with a different cron directory
  process.env.HOSTSTORE_CRON_DIR = path.join(host.root, 'elsewhere');
  await remove(snapshotPolicyHandler, ctx(), policy());
  // THEN the entry it wrote is gone
  expect(fs.existsSync(written)).toBe(false);
  expect(ctx().registry.list('policies')).toEqual([]);
});
