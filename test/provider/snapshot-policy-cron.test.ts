/** A snapshot policy's cron entry is part of what is read and converged, and is removed from where it was written. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { converge, makeContext, remove } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { cronEntryPath, snapshotPolicyHandler } from '../../provider/handlers/snapshot-policy.js';
import { hostTest, hostWithCronDir, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { storageWire } from '../helpers/specs.js';
import { deleteStorage } from '../../provider/commands/delete.js';
import { jest } from '@jest/globals';

const fx = hostWithCronDir();

const ctx = () => makeContext(fx.host.root, { log: () => undefined });
const policyWire = (root: string) => ({
  root,
  project: 'app',
  policy: 'nightly',
  storage: 'data',
  storage_kind: 'disk',
  stack: 'test',
  schedule: '0 4 * * *',
  retention_days: '',
  retention_count: '2',
});
const policy = () => snapshotPolicyHandler.validate(policyWire(fx.host.root));

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

describe('two roots on one host with the same project, policy and storage names', () => {
  let other: HostFixture;
  beforeEach(() => {
    other = makeHostFixture();
  });
  afterEach(() => other.cleanup());

  const dirWire = (root: string) => storageWire(root, { kind: 'directory', size_gb: '', filesystem: '' });
  const policyOn = (root: string) => snapshotPolicyHandler.validate({ ...policyWire(root), storage_kind: 'directory' });
  const ctxOf = (root: string) => makeContext(root, { log: () => undefined });
  const applyOn = async (root: string) => {
    await converge(storageHandler, ctxOf(root), storageHandler.validate(dirWire(root)));
    await converge(snapshotPolicyHandler, ctxOf(root), policyOn(root));
  };
  const diffOn = (root: string) =>
    snapshotPolicyHandler.diff(ctxOf(root), policyOn(root), snapshotPolicyHandler.read(ctxOf(root), policyOn(root)));
  /** A cron file as the build before root digests wrote it (no root in its name, an unquoted line). */
  const oldNameEntry = (root: string) =>
    [
      "# hoststore: snapshot policy 'nightly' of directory data (project app), schedule '0 4 * * *' UTC.",
      '# run-due is checked every minute and takes the snapshot when the schedule has fired. Managed by hoststore; removed with the policy.',
      `* * * * * root /usr/bin/node /opt/hoststore/dist/provider/cli.js snapshot run-due --root ${root} >/dev/null`,
      '',
    ].join('\n');

  hostTest()('each root gets its own cron file; applying or destroying one leaves the other alone', async () => {
    // GIVEN staging and prod roots declaring the same policy, both applied
    await applyOn(fx.host.root);
    await applyOn(other.root);
    const first = cronEntryPath(policyOn(fx.host.root));
    const second = cronEntryPath(policyOn(other.root));
    expect(first).not.toBe(second);
    expect(path.basename(first)).toMatch(/^hoststore-app_nightly_data_[0-9a-f]{12}$/);
    // THEN each entry runs its own root and neither plan sees drift
    expect(fs.readFileSync(first, 'utf8')).toContain(`--root '${fx.host.root}'`);
    expect(fs.readFileSync(second, 'utf8')).toContain(`--root '${other.root}'`);
    expect(diffOn(fx.host.root)).toEqual({ action: 'none', changes: [] });
    expect(diffOn(other.root)).toEqual({ action: 'none', changes: [] });
    // WHEN the second root's policy is destroyed THEN the first root's entry stays
    await remove(snapshotPolicyHandler, ctxOf(other.root), policyOn(other.root));
    expect(fs.existsSync(second)).toBe(false);
    expect(fs.existsSync(first)).toBe(true);
    expect(diffOn(fx.host.root)).toEqual({ action: 'none', changes: [] });
  });

  hostTest()(
    "an entry under the old name is moved to the new one when it runs this root, and another root's is never touched",
    async () => {
      // GIVEN an old-name entry of this root: plan shows the rename, converge writes the new file and removes the old
      await converge(storageHandler, ctxOf(fx.host.root), storageHandler.validate(dirWire(fx.host.root)));
      await converge(snapshotPolicyHandler, ctxOf(fx.host.root), policyOn(fx.host.root));
      const oldName = path.join(fx.cronDir, 'hoststore-app_nightly_data');
      fs.writeFileSync(oldName, oldNameEntry(fx.host.root));
      expect(diffOn(fx.host.root).changes).toEqual([
        expect.objectContaining({ field: 'cron_file', from: 'hoststore-app_nightly_data', kind: 'repair' }),
      ]);
      await converge(snapshotPolicyHandler, ctxOf(fx.host.root), policyOn(fx.host.root));
      expect(fs.existsSync(oldName)).toBe(false);
      expect(fs.existsSync(cronEntryPath(policyOn(fx.host.root)))).toBe(true);
      // GIVEN an old-name entry of ANOTHER root (a root whose path only starts like this one's, too)
      for (const foreign of [other.root, `${fx.host.root} b`]) {
        fs.writeFileSync(oldName, oldNameEntry(foreign));
        // WHEN this root plans, applies and destroys its policy THEN that entry is left as it is
        expect(diffOn(fx.host.root)).toEqual({ action: 'none', changes: [] });
        await converge(snapshotPolicyHandler, ctxOf(fx.host.root), policyOn(fx.host.root));
        expect(fs.readFileSync(oldName, 'utf8')).toBe(oldNameEntry(foreign));
        await remove(snapshotPolicyHandler, ctxOf(fx.host.root), policyOn(fx.host.root));
        expect(fs.readFileSync(oldName, 'utf8')).toBe(oldNameEntry(foreign));
        await converge(snapshotPolicyHandler, ctxOf(fx.host.root), policyOn(fx.host.root));
      }
    },
  );
});

hostTest()(
  '`hoststore delete` of a storage removes its snapshot policies and their cron entries (none is left running for nothing)',
  async () => {
    // GIVEN a directory volume with a policy, as a project moved to another host leaves it on the old one
    const dirPolicy = snapshotPolicyHandler.validate({ ...policyWire(fx.host.root), storage_kind: 'directory' });
    await converge(
      storageHandler,
      ctx(),
      storageHandler.validate(storageWire(fx.host.root, { kind: 'directory', size_gb: '', filesystem: '' })),
    );
    await converge(snapshotPolicyHandler, ctx(), dirPolicy);
    const entry = cronEntryPath(dirPolicy);
    expect(fs.existsSync(entry)).toBe(true);
    // WHEN the storage is deleted by hand, as the moved project's retained line says
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await deleteStorage('data', { root: fx.host.root, json: false, yes: true, force: true, project: 'app' });
    } finally {
      out.mockRestore();
    }
    // THEN neither the policy's record nor its cron entry (which would run every minute) is left behind
    expect(fs.existsSync(entry)).toBe(false);
    expect(ctx().registry.list('policies')).toEqual([]);
  },
);
