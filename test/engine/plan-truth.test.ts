/**
 * Plans that tell the truth: the space check counts only what an apply newly writes; destroy checks
 * everything before touching anything; a new empty volume replacing a service's data is data-loss; a
 * smaller sizeGb on an existing disk is ignored and said so.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { App, TerraformStack } from 'cdktf';
import { Disk, Mount, StorageProject, Volume } from '../../src/index.js';
import { imagePath, replicaHostPath } from '../../src/schema.js';
import { Registry } from '../../provider/registry/store.js';
import { readMountTable } from '../../provider/host/mounts.js';
import { cleanupRoot, hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { hoststore } from '../helpers/cli.js';

interface StorageModel {
  readonly type: 'Disk' | 'Volume';
  readonly id: string;
  readonly props: Record<string, unknown>;
  readonly mounts?: Array<{ service: string; mountPath: string; replicas?: number }>;
}

let host: HostFixture;
const outs: string[] = [];
const undo: Array<() => void> = [];
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => {
  for (const step of undo.splice(0).reverse()) step();
  host.cleanup();
  for (const out of outs.splice(0)) fs.rmSync(out, { recursive: true, force: true });
});

function synth(root: string, storage: StorageModel[], project = 'app', stack = 'truth'): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-out-'));
  outs.push(outdir);
  const app = new App({ outdir });
  const p = new StorageProject(new TerraformStack(app, stack), 'p', { root, name: project });
  for (const s of storage) {
    const made = s.type === 'Disk' ? new Disk(p, s.id, s.props as never) : new Volume(p, s.id, s.props as never);
    (s.mounts ?? []).forEach((m, i) => new Mount(p, `${s.id}-mount-${i}`, { storage: made, ...m }));
  }
  app.synth();
  return outdir;
}

const apply = (out: string, ...extra: string[]) => hoststore(['apply', '--app', out, '--auto-approve', ...extra]);
const plan = (out: string, ...extra: string[]) => hoststore(['plan', '--app', out, ...extra]);
const MiB = 1024 ** 2;

/** A 200 MiB ext4 filesystem of the test's own, mounted; the hoststore root is a directory on it. */
function smallRoot(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-small-'));
  const image = path.join(dir, 'small.img');
  const mnt = path.join(dir, 'mnt');
  fs.mkdirSync(mnt);
  fs.writeFileSync(image, '');
  fs.truncateSync(image, 200 * MiB);
  execFileSync('mkfs.ext4', ['-q', '-F', image]);
  const device = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
  undo.push(() => {
    try {
      execFileSync('losetup', ['--detach', device], { stdio: 'ignore' });
    } catch {
      /* already gone with autoclear */
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  execFileSync('mount', [device, mnt]);
  undo.push(() => execFileSync('umount', [mnt]));
  const root = path.join(mnt, 'root');
  fs.mkdirSync(root, { mode: 0o755 });
  // Everything hoststore makes under this root goes first (its mounts, loops and files).
  undo.push(() => cleanupRoot(root));
  return root;
}

hostTest('mkfs.xfs')('the space check counts what the apply newly writes, not data that already exists', () => {
  // GIVEN a root on a small filesystem holding a 1 GB disk that already uses most of it
  const root = smallRoot();
  const pg: StorageModel = {
    type: 'Disk',
    id: 'pg',
    props: { name: 'pg', sizeGb: 1, filesystem: 'ext4' },
    mounts: [{ service: 'db', mountPath: '/data' }],
  };
  const out = synth(root, [pg]);
  expect(apply(out)).toMatchObject({ status: 0 });
  const data = replicaHostPath(root, 'app', 'db', 1, '/data');
  const free = () => {
    const s = fs.statfsSync(root);
    return s.bavail * s.bsize;
  };
  fs.writeFileSync(path.join(data, 'fill'), Buffer.alloc(free() - 30 * MiB, 7));
  execFileSync('sync');
  expect(free()).toBeLessThan(40 * MiB);
  // WHEN the same stack is planned and applied again (nothing new to write)
  const noOp = apply(out);
  // THEN there is no error, only the overcommit warning with its ratio
  expect(noOp.stdout).not.toMatch(/^error:/m);
  expect(noOp.stdout).toMatch(/warning: thin-provisioning overcommit .*\(\d+\.\dx\)/);
  expect(noOp.status).toBe(0);
  // WHEN an xfs disk is added (mkfs.xfs writes a zeroed log of about 64 MiB first)
  const withXfs = plan(
    synth(root, [pg, { type: 'Disk', id: 'logs', props: { name: 'logs', sizeGb: 1, filesystem: 'xfs' } }]),
  );
  // THEN the check names what the apply would write and the free space
  expect(withXfs.stdout).toMatch(/^error: the apply writes about .* new on .* \(new disk logs/m);
  // AND a small ext4 disk still fits
  const withExt4 = plan(
    synth(root, [pg, { type: 'Disk', id: 'small', props: { name: 'small', sizeGb: 1, filesystem: 'ext4' } }]),
  );
  expect(withExt4.stdout).not.toMatch(/^error:/m);
});

hostTest()('a refused destroy changes nothing: every mount stays, every record stays', () => {
  // GIVEN five mounts, one of a disk whose policy is 'destroy'
  const out = synth(host.root, [
    {
      type: 'Disk',
      id: 'pg',
      props: { name: 'pg', sizeGb: 1, removalPolicy: 'destroy' },
      mounts: [{ service: 'db', mountPath: '/data' }],
    },
    {
      type: 'Volume',
      id: 'models',
      props: { sizeGb: 1, shared: true },
      mounts: [{ service: 'web', mountPath: '/models', replicas: 2 }],
    },
    {
      type: 'Volume',
      id: 'cache',
      props: { type: 'directory' },
      mounts: [{ service: 'web', mountPath: '/cache', replicas: 2 }],
    },
  ]);
  expect(apply(out)).toMatchObject({ status: 0 });
  const mountsUnder = () =>
    readMountTable()
      .filter((e) => e.target.startsWith(`${host.root}/projects/`))
      .map((e) => e.target)
      .sort();
  const before = mountsUnder();
  expect(before).toHaveLength(5);
  const records = fs.readFileSync(path.join(host.root, 'registry', 'mounts.json'), 'utf8');
  // WHEN it is destroyed without --allow-data-loss
  const destroyed = hoststore(['destroy', '--app', out, '--auto-approve']);
  // THEN it is refused before anything changed
  expect(destroyed.status).toBe(3);
  expect(destroyed.stderr).toMatch(/--allow-data-loss pg/);
  expect(mountsUnder()).toEqual(before);
  expect(fs.readFileSync(path.join(host.root, 'registry', 'mounts.json'), 'utf8')).toBe(records);
});

describe('a service that gets a new empty volume in place of its data', () => {
  const mounted = { mounts: [{ service: 'web', mountPath: '/srv/data' }] };

  hostTest()('renaming a storage: plan and diff say data-loss and where the old data is', () => {
    const before = synth(host.root, [
      { type: 'Volume', id: 'data', props: { name: 'data', sizeGb: 1, shared: true }, ...mounted },
    ]);
    expect(apply(before)).toMatchObject({ status: 0 });
    const after = synth(host.root, [
      { type: 'Volume', id: 'data', props: { name: 'data2', sizeGb: 1, shared: true }, ...mounted },
    ]);
    const planned = JSON.parse(plan(after, '--format', 'json').stdout);
    const created = planned.items.find((i: { subject: string }) => i.subject === 'volume data2');
    const oldPath = imagePath(host.root, 'volume', 'app', 'data');
    expect(created).toMatchObject({ action: 'create', safety: 'data-loss' });
    expect(JSON.stringify(created.changes)).toContain(oldPath);
    expect(JSON.stringify(created.changes)).toMatch(/rename it back to 'data'/);
    const refused = apply(after);
    expect(refused).toMatchObject({ status: 3 });
    // The refusal gives the reasons only, not an empty one for the create: `data2): service web sees ...`
    expect(refused.stderr).toMatch(/\(--allow-data-loss data2\): service web sees volume data/);
    expect(apply(after, '--allow-data-loss', 'data2')).toMatchObject({ status: 0 });
    expect(new Registry(host.root).storage('volume', 'app', 'data')).toMatchObject({ state: 'retained' });
    // hoststore diff, without a host, says the same
    const diffed = JSON.parse(hoststore(['diff', '--base', before, '--app', after, '--format', 'json']).stdout);
    const diffCreated = diffed.items.find((i: { subject: string }) => i.subject.startsWith('volume data2'));
    expect(diffCreated).toMatchObject({ action: 'create', safety: 'data-loss' });
    expect(JSON.stringify(diffCreated.changes)).toContain(oldPath);
  });

  hostTest()('switching shared and renaming the project are data-loss too', () => {
    const before = synth(host.root, [
      { type: 'Volume', id: 'data', props: { name: 'data', sizeGb: 1, shared: true }, ...mounted },
    ]);
    expect(apply(before)).toMatchObject({ status: 0 });
    const unshared = synth(host.root, [
      { type: 'Volume', id: 'data', props: { name: 'data', sizeGb: 1, shared: false }, ...mounted },
    ]);
    expect(plan(unshared).stdout).toMatch(/\+ create +volume data-1 {2}\[data-loss\]/);
    const diffShared = hoststore(['diff', '--base', before, '--app', unshared]);
    expect(diffShared.stdout).toMatch(/\+ create +volume data-1.*\[data-loss\]/);
    const renamed = synth(
      host.root,
      [{ type: 'Volume', id: 'data', props: { name: 'data', sizeGb: 1, shared: true }, ...mounted }],
      'app2',
    );
    const planned = plan(renamed);
    expect(planned.stdout).toMatch(/\+ create +volume data {2}\[data-loss\]/);
    expect(planned.stdout).toContain(imagePath(host.root, 'volume', 'app', 'data'));
    expect(hoststore(['diff', '--base', before, '--app', renamed]).stdout).toMatch(
      /\+ create +volume data.*\[data-loss\]/,
    );
  });

  hostTest()('a new replica of a non-shared volume gets its own new volume: safe, not data-loss', () => {
    const replicas = (n: number) => [
      {
        type: 'Volume' as const,
        id: 'data',
        props: { name: 'data', sizeGb: 1, shared: false },
        mounts: [{ service: 'web', mountPath: '/srv/data', replicas: n }],
      },
    ];
    const before = synth(host.root, replicas(1));
    expect(apply(before)).toMatchObject({ status: 0 });
    const after = synth(host.root, replicas(2));
    const planned = JSON.parse(plan(after, '--format', 'json').stdout);
    expect(planned.items.find((i: { subject: string }) => i.subject === 'volume data-2')).toMatchObject({
      action: 'create',
      safety: 'safe',
    });
    const diffed = JSON.parse(hoststore(['diff', '--base', before, '--app', after, '--format', 'json']).stdout);
    expect(diffed.items.find((i: { subject: string }) => i.subject.startsWith('volume data-2'))).toMatchObject({
      action: 'create',
      safety: 'safe',
    });
    expect(apply(after)).toMatchObject({ status: 0 });
  });
});

hostTest()(
  'a smaller sizeGb on an existing disk is ignored and the plan says so; a volume shrink stays refused',
  () => {
    const out = synth(host.root, [
      { type: 'Disk', id: 'pg', props: { name: 'pg', sizeGb: 2 } },
      { type: 'Volume', id: 'db', props: { name: 'db', sizeGb: 2 } },
    ]);
    expect(apply(out)).toMatchObject({ status: 0 });
    const smallerDisk = synth(host.root, [
      { type: 'Disk', id: 'pg', props: { name: 'pg', sizeGb: 1 } },
      { type: 'Volume', id: 'db', props: { name: 'db', sizeGb: 2 } },
    ]);
    const planned = plan(smallerDisk, '--detailed-exitcode');
    expect(planned.stdout).toMatch(/kept at 2 GB; sizeGb 1 ignored/);
    expect(planned.status).toBe(0);
    expect(apply(smallerDisk)).toMatchObject({ status: 0 });
    expect(fs.statSync(imagePath(host.root, 'disk', 'app', 'pg')).size).toBe(2 * 1024 ** 3);
    const diffed = hoststore(['diff', '--base', out, '--app', smallerDisk]);
    expect(diffed.stdout).toMatch(/sizeGb 1 ignored/);
    expect(diffed.stdout).not.toMatch(/refused/);
    const smallerVolume = synth(host.root, [
      { type: 'Disk', id: 'pg', props: { name: 'pg', sizeGb: 2 } },
      { type: 'Volume', id: 'db', props: { name: 'db', sizeGb: 1 } },
    ]);
    expect(plan(smallerVolume).stdout).toMatch(/volume db-1 {2}\[refused\]/);
  },
);
