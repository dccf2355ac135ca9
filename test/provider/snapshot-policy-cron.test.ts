/** A snapshot policy's cron entry is part of what is read and converged, and is removed from where it was written. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { converge, makeContext, remove } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { cronEntryPath, snapshotPolicyHandler } from '../../provider/handlers/snapshot-policy.js';
import { hostTest, hostWithCronDir } from '../helpers/host-fixture.js';
import { storageWire } from '../helpers/specs.js';

const fx = hostWithCronDir();

const ctx = () => makeContext(fx.host.root, { log: () => undefined });
const policy = () =>
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
  });

hostTest('mkfs.ext4')(
  'a failed cron write is not recorded as converged; the next converge writes the entry',
  async () => {
    await converge(storageHandler, ctx(), storageHandler.validate(storageWire(fx.host.root)));
    // GIVEN a cron directory that cannot be written (a file in its place)
    fs.writeFileSync(fx.cronDir, 'not a directory');
    await expect(converge(snapshotPolicyHandler, ctx(), policy())).rejects.toThrow();
    fs.rmSync(fx.cronDir);
    // WHEN converged again THEN the entry is written
    const diff = await converge(snapshotPolicyHandler, ctx(), policy());
    expect(diff.action).not.toBe('none');
    expect(fs.readFileSync(cronEntryPath(policy()), 'utf8')).toMatch(/snapshot run-due --root /);
  },
);

hostTest('mkfs.ext4')(
  'read checks the cron entry: a deleted or edited entry is a change that converge repairs',
  async () => {
    await converge(storageHandler, ctx(), storageHandler.validate(storageWire(fx.host.root)));
    await converge(snapshotPolicyHandler, ctx(), policy());
    const entry = cronEntryPath(policy());
    const body = fs.readFileSync(entry, 'utf8');
    expect(snapshotPolicyHandler.diff(ctx(), policy(), snapshotPolicyHandler.read(ctx(), policy()))).toEqual({
      action: 'none',
      changes: [],
    });
    for (const damage of [() => fs.rmSync(entry), () => fs.writeFileSync(entry, '# emptied\n')]) {
      damage();
      const diff = snapshotPolicyHandler.diff(ctx(), policy(), snapshotPolicyHandler.read(ctx(), policy()));
      expect(diff).toEqual({ action: 'update', changes: [expect.objectContaining({ field: 'cron', safety: 'safe' })] });
      await converge(snapshotPolicyHandler, ctx(), policy());
      expect(fs.readFileSync(entry, 'utf8')).toBe(body);
    }
  },
);

hostTest('mkfs.ext4')(
  'a policy removed under another HOSTSTORE_CRON_DIR removes the entry where it was written',
  async () => {
    await converge(storageHandler, ctx(), storageHandler.validate(storageWire(fx.host.root)));
    await converge(snapshotPolicyHandler, ctx(), policy());
    const written = cronEntryPath(policy());
    expect(fs.existsSync(written)).toBe(true);
    // WHEN the policy is removed by a process with a different cron directory
    process.env.HOSTSTORE_CRON_DIR = path.join(fx.host.root, 'elsewhere');
    await remove(snapshotPolicyHandler, ctx(), policy());
    // THEN the entry it wrote is gone
    expect(fs.existsSync(written)).toBe(false);
    expect(ctx().registry.list('policies')).toEqual([]);
  },
);
