/**
 * The journal through a deploy: create, grow, mount, unmount, retain and delete, as `hoststore apply` (the
 * engine) and as Terraform's `hoststore handle` run them, each event with its storage, actor and detail.
 */
import * as fs from 'node:fs';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { hoststore } from '../helpers/cli.js';
import { synthModel } from '../helpers/synth-model.js';
import type { AppModel } from '../helpers/cdktf-app.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { eventWords, journalEvents, lastEvent } from './journal-lines.js';

let host: HostFixture;
const outs: string[] = [];
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => {
  host.cleanup();
  for (const out of outs.splice(0)) fs.rmSync(out, { recursive: true, force: true });
});

function synth(pg: { size: number } | undefined, keepGb = 1): string {
  const model: AppModel = {
    stack: 'eng',
    root: host.root,
    storage: [
      ...(pg
        ? [
            {
              id: 'pg',
              type: 'Disk' as const,
              props: { name: 'pg', sizeGb: pg.size },
              mounts: [{ id: 'pg-mount', service: 'db', mountPath: '/data' }],
            },
          ]
        : []),
      { id: 'keep', type: 'Volume' as const, props: { name: 'keep', sizeGb: keepGb } },
    ],
  };
  const out = synthModel(model);
  outs.push(out);
  return out;
}

const apply = (out: string) => hoststore(['apply', '--app', out, '--auto-approve']);

hostTest()('hoststore apply records created, mounted, grown, unmounted and retained as the engine', () => {
  // GIVEN an app with a 1 GB disk mounted by db, applied
  expect(apply(synth({ size: 1 }))).toMatchObject({ status: 0 });
  // WHEN it grows to 2 GB, then the disk leaves the code
  expect(apply(synth({ size: 2 }))).toMatchObject({ status: 0 });
  expect(apply(synth(undefined))).toMatchObject({ status: 0 });
  // THEN its history says so, in order, each by the engine
  expect(eventWords(host.root, 'pg')).toEqual([
    'created engine',
    'lease-taken engine',
    'mounted engine',
    'grown engine',
    'unmounted engine',
    'lease-released engine',
    'retained engine',
  ]);
  expect(lastEvent(host.root, 'pg', 'created')).toMatchObject({
    v: 1,
    kind: 'disk',
    project: 'app',
    stack: 'eng',
    storage: 'pg',
    detail: { sizeGb: 1, filesystem: 'ext4' },
  });
  expect(lastEvent(host.root, 'pg', 'mounted')).toMatchObject({
    detail: { service: 'db', replica: 1, readOnly: false, hostPath: expect.stringMatching(/\/data$/) },
  });
  // Mounted, it grows online, or (where the kernel does not permit an online ext4 resize) unmounted for a moment.
  const grown = lastEvent(host.root, 'pg', 'grown');
  expect(grown).toMatchObject({
    message: expect.stringMatching(/^grown from 1 GB to 2 GB (online|offline) \(downtime \d+ ms\)$/),
    detail: { fromGb: 1, toGb: 2, online: expect.any(Boolean), downtimeMs: expect.any(Number) },
  });
  if (grown?.detail?.online) expect(grown.detail.downtimeMs).toBe(0);
  expect(lastEvent(host.root, 'pg', 'retained')).toMatchObject({ detail: { removalPolicy: 'retain' } });
  // AND a storage that did not change has only its creation
  expect(journalEvents(host.root).filter((e) => e.kind === 'volume')).toEqual([
    expect.objectContaining({ event: 'created', actor: 'engine', storage: expect.stringMatching(/^keep/) }),
  ]);
  // WHEN a person deletes it by hand THEN deleted, by the CLI; the history outlives the storage
  expect(hoststore(['delete', 'pg', '--yes', '--root', host.root])).toMatchObject({ status: 0 });
  expect(eventWords(host.root, 'pg').slice(-1)).toEqual(['deleted cli']);
  // Every line is one JSON object with a time
  for (const e of journalEvents(host.root)) expect(new Date(e.time).toISOString()).toBe(e.time);
});

hostTest()('hoststore handle records what Terraform did, refusals with their reason, and a destroy', () => {
  const volume = (o: Record<string, string> = {}) =>
    storageWire(host.root, { kind: 'volume', name: 'vol', removal_policy: 'destroy', ...o });
  const mount = mountWire(host.root, { storage: 'vol', storage_kind: 'volume', read_only: 'true' });
  // GIVEN a volume created and mounted read-only through the handler
  expect(hoststore(['handle', 'storage', 'converge'], volume())).toMatchObject({ status: 0 });
  expect(hoststore(['handle', 'mount', 'converge'], mount)).toMatchObject({ status: 0 });
  // WHEN it is grown, then asked to shrink
  expect(hoststore(['handle', 'storage', 'converge'], volume({ size_gb: '2' }))).toMatchObject({ status: 0 });
  const shrink = hoststore(['handle', 'storage', 'converge'], volume({ size_gb: '1' }));
  expect(shrink.status).toBe(3);
  // WHEN the mount and the volume are destroyed
  expect(hoststore(['handle', 'mount', 'delete'], mount)).toMatchObject({ status: 0 });
  expect(hoststore(['handle', 'storage', 'delete'], volume({ size_gb: '2' }))).toMatchObject({ status: 0 });
  // THEN each is in its history, by Terraform
  expect(eventWords(host.root, 'vol')).toEqual([
    'created terraform',
    'mounted terraform',
    'grown terraform',
    'refused terraform',
    'unmounted terraform',
    'deleted terraform',
  ]);
  expect(lastEvent(host.root, 'vol', 'mounted')).toMatchObject({
    kind: 'volume',
    project: 'app',
    stack: 'test',
    detail: { service: 'web', replica: 1, readOnly: true },
  });
  const refused = lastEvent(host.root, 'vol', 'refused');
  expect(refused?.reason).toBe(shrink.stderr.replace(/^hoststore: /, '').split('\n')[0]);
  expect(refused?.reason).toMatch(/refused/);
  expect(lastEvent(host.root, 'vol', 'grown')?.detail).toMatchObject({
    fromGb: 1,
    toGb: 2,
    online: expect.any(Boolean),
  });
  expect(lastEvent(host.root, 'vol', 'deleted')?.detail).toEqual({ removalPolicy: 'destroy' });
});

hostTest()('a plan hoststore apply refuses is in the history of the storage it would have changed', () => {
  // GIVEN a 2 GB volume, applied
  expect(apply(synth(undefined, 2))).toMatchObject({ status: 0 });
  const [created] = journalEvents(host.root);
  // WHEN the code asks for 1 GB (a shrink)
  const refused = apply(synth(undefined, 1));
  expect(refused.status).toBe(3);
  // THEN the refusal is recorded for that volume, by the engine, with the reason the plan gave
  expect(eventWords(host.root, created.storage)).toEqual(['created engine', 'refused engine']);
  const event = lastEvent(host.root, created.storage, 'refused');
  expect(event).toMatchObject({ kind: 'volume', project: 'app', stack: 'eng' });
  expect(event?.reason).toMatch(/refused: /);
  const said = `${refused.stdout}\n${refused.stderr}`;
  expect(said).toContain(String(event?.reason).replace(/^.*refused: /, ''));
});
