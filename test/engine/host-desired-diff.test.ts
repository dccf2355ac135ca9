/**
 * Remote projects in a synth output (issue 12): every desired spec of a remote project carries its
 * connection (read from its manifest's HOSTSTORE_HOST, checked), and `hoststore diff` shows a project moved
 * to another host, or between this machine and a host, as new storage there (data-loss) with the old
 * retained on the old host, naming both.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, TerraformStack } from 'cdktf';
import { Mount, SnapshotPolicy, StorageProject, Volume, type HostProps } from '../../src/index.js';
import { readDesired } from '../../provider/plan/desired.js';
import { compareDesired } from '../../provider/plan/compare.js';
import { RefusedError, SpecError } from '../../provider/errors.js';
import { hoststore } from '../helpers/cli.js';

const ROOT = '/srv/hoststore-never-touched';
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-host-desired-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A synth output of stack `shop`: project `shop` on `host` (none: this machine), and a local project `side`. */
function synthShop(name: string, host: HostProps | undefined, removalPolicy: 'retain' | 'destroy' = 'retain'): string {
  const outdir = path.join(dir, name);
  const app = new App({ outdir });
  const stack = new TerraformStack(app, 'shop');
  const project = new StorageProject(stack, 'shop', { root: ROOT, cli: '/opt/hoststore/cli.js', host });
  const db = new Volume(project, 'db', { sizeGb: 2, shared: true, removalPolicy });
  new Mount(project, 'db-mount', { storage: db, service: 'web', mountPath: '/data' });
  new SnapshotPolicy(project, 'nightly', { storage: db, schedule: '0 4 * * *' });
  new Volume(new StorageProject(stack, 'side', { root: ROOT, cli: '/opt/hoststore/cli.js' }), 'cache', { sizeGb: 1 });
  app.synth();
  return outdir;
}

/** Hand-edits the manifest carrier of project `shop` in the synth output `out`. */
function editShopManifest(out: string, edit: (manifest: any, json: any) => void): void {
  const file = path.join(out, 'stacks', 'shop', 'cdk.tf.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(Object.entries(json.resource.terraform_data).find(([id]) => id.startsWith('shop_manifest_'))![1], json);
  fs.writeFileSync(file, JSON.stringify(json));
}

describe('readDesired: the connection of a remote project', () => {
  test('every spec of a remote project has its connection (defaults filled); a local one has none', () => {
    const desired = readDesired(
      synthShop('remote', { address: 'storage-1.internal', port: 2222, identityFile: '/ci/keys/storage' }),
    );
    const connection = { address: 'storage-1.internal', user: 'root', port: 2222, identityFile: '/ci/keys/storage' };
    const shop = desired.filter((d) => d.address.startsWith('shop/shop'));
    expect(shop.map((d) => d.kind)).toEqual(['storage', 'mount', 'snapshot-policy', 'project']);
    for (const d of shop)
      expect([d.address, d.kind, d.host, d.spec.host]).toEqual([d.address, d.kind, connection, connection.address]);
    const side = desired.filter((d) => d.address.startsWith('shop/side'));
    expect(side.map((d) => d.kind)).toEqual(['storage', 'project']);
    for (const d of side) {
      expect(d).not.toHaveProperty('host');
      expect(d.spec).not.toHaveProperty('host');
    }
  });

  test('a HOSTSTORE_HOST that breaks a rule is one line naming the resource and the field', () => {
    const out = synthShop('bad', { address: 'storage-1.internal' });
    editShopManifest(out, (manifest) => {
      manifest.provisioner[0]['local-exec'].environment.HOSTSTORE_HOST =
        '{"address":"storage-1.internal","user":"root","port":0}';
    });
    expect(() => readDesired(out)).toThrow(SpecError);
    expect(() => readDesired(out)).toThrow(
      /^HOSTSTORE_HOST of shop\/shop in stack shop is not a host connection: port must be a whole number from 1 to 65535 \(got 0\); fix the StorageProject's `host` and run cdktf synth again$/,
    );
  });

  test('a HOSTSTORE_HOST that is not JSON is one line naming the resource', () => {
    const out = synthShop('notjson', { address: 'storage-1.internal' });
    editShopManifest(out, (manifest) => {
      manifest.provisioner[0]['local-exec'].environment.HOSTSTORE_HOST = 'storage-1.internal';
    });
    expect(() => readDesired(out)).toThrow(
      /^HOSTSTORE_HOST of shop\/shop in stack shop is not JSON \(got "storage-1.internal"\); run cdktf synth again$/,
    );
  });

  test('a thing whose host is not its manifest’s is refused (a hand-edited spec cannot reach another host)', () => {
    const out = synthShop('mismatch', { address: 'storage-1.internal' });
    editShopManifest(out, (manifest) => {
      const env = manifest.provisioner[0]['local-exec'].environment as Record<string, string>;
      const [name, text] = Object.entries(env).find(([, v]) => v.startsWith('{"address":"shop/shop/db"'))!;
      const entry = JSON.parse(text);
      entry.spec.host = 'storage-2.internal';
      env[name] = JSON.stringify(entry);
    });
    expect(() => readDesired(out)).toThrow(
      /^shop\/shop\/db \(storage\) in stack shop says host storage-2.internal but the manifest of shop\/shop runs on host storage-1.internal; run cdktf synth again$/,
    );
  });
});

describe('hoststore diff of a project that moved', () => {
  test('to another host: new storage there (data-loss, naming both hosts), the old retained on the old host', () => {
    const plan = compareDesired(
      readDesired(synthShop('one', { address: 'storage-1.internal' }, 'destroy')),
      readDesired(synthShop('two', { address: 'storage-2.internal' }, 'destroy')),
    );
    const storage = plan.items.filter((i) => i.kind === 'storage' && i.name === 'db');
    expect(storage.map((i) => [i.address, i.action, i.safety])).toEqual([
      ['shop/shop/db', 'create', 'data-loss'],
      ['shop/shop/db (left on host storage-1.internal)', 'retain', 'safe'],
    ]);
    expect(storage[0].changes.find((c) => c.field === 'host')).toEqual({
      field: 'host',
      from: 'storage-1.internal',
      to: 'storage-2.internal',
      kind: 'replace',
      safety: 'data-loss',
      reason:
        'the project moved from host storage-1.internal to host storage-2.internal: volume db is created there new and empty, and the old one with its data is retained on host storage-1.internal (nothing is deleted there). Copy the data across before the services use it, or keep the project on host storage-1.internal; the old one is deleted only by `hoststore delete db --project shop --force --root /srv/hoststore-never-touched` run on host storage-1.internal. If both addresses reach the same machine, it is the storage the project uses now there: delete nothing',
    });
    // removalPolicy 'destroy' is not applied on a move: the old storage is retained, not deleted
    expect(storage[1].changes).toEqual([
      expect.objectContaining({
        kind: 'retain',
        safety: 'safe',
        reason:
          'the project moved to host storage-2.internal: retained on host storage-1.internal with its data (its removalPolicy is not applied on a move); delete it there with `hoststore delete db --project shop --force --root /srv/hoststore-never-touched`',
      }),
    ]);
    expect(plan.items.filter((i) => i.kind === 'mount').map((i) => [i.action, i.changes[0].reason])).toEqual([
      ['create', undefined],
      [
        'retain',
        'the project moved to host storage-2.internal: left mounted on host storage-1.internal (a move unmounts nothing there)',
      ],
    ]);
    expect(plan.items.filter((i) => i.kind === 'snapshot-policy').map((i) => i.action)).toEqual(['create', 'retain']);
    // The local project beside it does not move
    expect(plan.items.filter((i) => i.name === 'cache-1').map((i) => i.action)).toEqual(['no-op']);
    expect(plan.summary['data-loss']).toBe(1);
  });

  test.each([
    [
      'from this machine to a host',
      undefined,
      { address: 'storage-1.internal' },
      'this machine (no host)',
      'host storage-1.internal',
      'local',
      'storage-1.internal',
    ],
    [
      'from a host to this machine',
      { address: 'storage-1.internal' },
      undefined,
      'host storage-1.internal',
      'this machine (no host)',
      'storage-1.internal',
      'local',
    ],
  ])('%s: likewise data-loss naming both', (_name, from, to, a, b, fromField, toField) => {
    const plan = compareDesired(readDesired(synthShop('a', from)), readDesired(synthShop('b', to)));
    const created = plan.items.find((i) => i.kind === 'storage' && i.action === 'create')!;
    expect(created.safety).toBe('data-loss');
    expect(created.changes.find((c) => c.field === 'host')).toMatchObject({
      from: fromField,
      to: toField,
      reason: expect.stringContaining(`the project moved from ${a} to ${b}:`),
    });
    expect(plan.items.find((i) => i.kind === 'storage' && i.action === 'retain')?.changes[0].reason).toContain(
      `retained on ${a} with its data`,
    );
  });

  /** Stack `shop`, project `shop` on `address` at `root`, with volume db and, when `logs`, volume logs (both 'destroy'). */
  function synthMoved(name: string, address: string, root: string, logs: boolean): string {
    const app = new App({ outdir: path.join(dir, name) });
    const project = new StorageProject(new TerraformStack(app, 'shop'), 'shop', { root, cli: '/c', host: { address } });
    const db = new Volume(project, 'db', { sizeGb: 2, removalPolicy: 'destroy' });
    new Mount(project, 'db-mount', { storage: db, service: 'web', mountPath: '/data' });
    if (logs) new Volume(project, 'logs', { sizeGb: 1, removalPolicy: 'destroy' });
    app.synth();
    return path.join(dir, name);
  }

  test('moved to another host and root while a volume is removed: nothing is deleted on the old host, as deploy does', () => {
    // The deletes Terraform runs for a moved project's old things go to the new host, which retains them (see
    // ../remote/host-moved.ts), and the new manifest converges the new host only: the old host is never touched.
    const plan = compareDesired(
      readDesired(synthMoved('one', 'storage-1.internal', ROOT, true)),
      readDesired(synthMoved('two', 'storage-2.internal', `${ROOT}-2`, false)),
    );
    const row = (i: (typeof plan.items)[number]) => [i.kind, i.name, i.action, i.safety];
    expect(plan.items.filter((i) => i.action !== 'create').map(row)).toEqual([
      ['storage', 'db-1', 'retain', 'safe'],
      ['storage', 'logs-1', 'retain', 'safe'],
      ['mount', 'db-1', 'retain', 'safe'],
    ]);
    // The new storage is the move's: empty on the new host while the data stays on the old one
    const created = plan.items.find((i) => i.kind === 'storage' && i.action === 'create')!;
    expect(row(created)).toEqual(['storage', 'db-1', 'create', 'data-loss']);
    expect(created.changes.find((c) => c.field === 'host')?.reason).toContain(
      'the project moved from host storage-1.internal to host storage-2.internal',
    );
  });

  test('moved under the same root while a volume is removed: the removal is shown (the address may be the same machine)', () => {
    const plan = compareDesired(
      readDesired(synthMoved('one', 'storage-1.internal', ROOT, true)),
      readDesired(synthMoved('two', 'storage-2.internal', ROOT, false)),
    );
    expect(plan.items.find((i) => i.name === 'logs-1')).toMatchObject({ action: 'delete', safety: 'data-loss' });
    expect(plan.items.find((i) => i.name === 'db-1' && i.action !== 'create')).toMatchObject({ action: 'retain' });
  });

  test('another key file, user or port is no change at all', () => {
    const plan = compareDesired(
      readDesired(synthShop('one', { address: 'storage-1.internal', identityFile: '/ci/keys/old' })),
      readDesired(
        synthShop('two', { address: 'storage-1.internal', identityFile: '/ci/keys/new', user: 'deploy', port: 2222 }),
      ),
    );
    expect(plan.items.map((i) => i.action)).toEqual(plan.items.map(() => 'no-op'));
  });

  test('the CLI: exit 2 with --detailed-exitcode, and the markdown names both hosts', () => {
    const result = hoststore([
      'diff',
      '--base',
      synthShop('one', { address: 'storage-1.internal' }),
      '--app',
      synthShop('two', { address: 'storage-2.internal' }),
      '--format',
      'markdown',
      '--detailed-exitcode',
    ]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(2);
    expect(result.stdout).toContain('the project moved from host storage-1.internal to host storage-2.internal');
    expect(result.stdout).toContain('data-loss');
  });
});

test('diff: a grow is judged on its own host (a mount of the same names on another host does not make it downtime)', () => {
  const synthTwo = (name: string, size: number) => {
    const outdir = path.join(dir, name);
    const app = new App({ outdir });
    for (const [id, address, mounted] of [
      ['one', 'storage-1.internal', true],
      ['two', 'storage-2.internal', false],
    ] as const) {
      const stack = new TerraformStack(app, id);
      const project = new StorageProject(stack, 'shop', { root: ROOT, cli: '/c', host: { address } });
      const db = new Volume(project, 'db', { sizeGb: address === 'storage-2.internal' ? size : 2, shared: true });
      if (mounted) new Mount(project, 'db-mount', { storage: db, service: 'web', mountPath: '/data' });
    }
    app.synth();
    return outdir;
  };
  const plan = compareDesired(readDesired(synthTwo('a', 2)), readDesired(synthTwo('b', 4)));
  const grown = plan.items.filter((i) => i.action === 'update');
  expect(grown.map((i) => [i.stack, i.subject, i.safety])).toEqual([
    ['two', 'volume db 4 GB ext4 on storage-2.internal', 'safe'],
  ]);
});

describe('readDesired: only the caller (or root) may have written a synth output that names hosts', () => {
  const stackFile = (out: string) => path.join(out, 'stacks', 'shop', 'cdk.tf.json');
  const refusal = (out: string) => {
    try {
      readDesired(out);
    } catch (error) {
      expect(error).toBeInstanceOf(RefusedError);
      return (error as Error).message;
    }
    throw new Error('expected the synth output to be refused');
  };

  test.each([
    [
      'writable by others',
      (out: string) => fs.chmodSync(stackFile(out), 0o666),
      /cdk\.tf\.json is writable by group or others \(mode 0666\)/,
    ],
    [
      'owned by another user',
      (out: string) => fs.chownSync(stackFile(out), 65534, 65534),
      /cdk\.tf\.json is owned by uid 65534, not by you/,
    ],
    [
      'in a directory another user owns',
      (out: string) => fs.chownSync(path.join(out, 'stacks'), 65534, 65534),
      /stacks is owned by uid 65534/,
    ],
    [
      'with a manifest others may write',
      (out: string) => fs.chmodSync(path.join(out, 'manifest.json'), 0o646),
      /manifest\.json is writable by group or others/,
    ],
  ])('a stack file %s is refused in one line', (_what, plant, why) => {
    const out = synthShop('planted', { address: 'storage-1.internal' });
    plant(out);
    const message = refusal(out);
    expect(message).toMatch(why);
    expect(message).toMatch(/names the hosts hoststore connects to with your ssh keys/);
    expect(message.split('\n')).toHaveLength(1);
  });

  test('a local-only synth output is read as before, whoever may write it', () => {
    const out = synthShop('local', undefined);
    fs.chmodSync(stackFile(out), 0o666);
    expect(readDesired(out).length).toBeGreaterThan(0);
  });
});
