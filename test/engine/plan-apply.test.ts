/**
 * The embedded engine against a real host: plan, apply, plan again (no changes), drift made by hand,
 * stale saved plans, resources removed from the code, and data-loss gating.
 */
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { imagePath, replicaHostPath } from '../../src/schema.js';
import {
  hostLoopsUnder,
  hostTest,
  makeHostFixture,
  simulateReboot,
  type HostFixture,
} from '../helpers/host-fixture.js';
import { hoststore } from '../helpers/cli.js';
import { synthModel } from '../helpers/synth-model.js';
import type { AppModel } from '../helpers/cdktf-app.js';

let host: HostFixture;
const outs: string[] = [];
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => {
  host.cleanup();
  for (const out of outs.splice(0)) fs.rmSync(out, { recursive: true, force: true });
});

function synth(options: { size?: number; withCache?: boolean; cachePolicy?: string } = {}): string {
  const model: AppModel = {
    stack: 'eng',
    root: host.root,
    storage: [
      {
        id: 'pg',
        type: 'Disk',
        props: { name: 'pg', sizeGb: options.size ?? 1 },
        mounts: [{ id: 'pg-mount', service: 'db', mountPath: '/data' }],
      },
      ...((options.withCache ?? true)
        ? [
            {
              id: 'cache',
              type: 'Disk' as const,
              props: { name: 'cache', sizeGb: 1, removalPolicy: options.cachePolicy ?? 'retain' },
              mounts: [{ id: 'cache-mount', service: 'web', mountPath: '/cache' }],
            },
          ]
        : []),
    ],
  };
  const out = synthModel(model);
  outs.push(out);
  return out;
}

const plan = (out: string, ...extra: string[]) => hoststore(['plan', '--app', out, ...extra]);
const pgImage = () => imagePath(host.root, 'disk', 'app', 'pg');
const pgPath = () => replicaHostPath(host.root, 'app', 'db', 1, '/data');

hostTest()('plan, apply, and a second plan with no changes', () => {
  const out = synth();
  const first = plan(out, '--detailed-exitcode');
  expect(first.status).toBe(2);
  expect(first.stdout).toMatch(/\+ create {2}disk pg {2}\[safe\] {2}eng\/app\/pg/);
  expect(first.stdout).toMatch(/Plan: 4 to create, 0 to adopt/);
  const applied = hoststore(['apply', '--app', out, '--auto-approve']);
  expect(applied.status).toBe(0);
  expect(applied.stdout).toMatch(/create mount pg -> db\[1\]:\/data: done in \d+ ms/);
  expect(applied.stdout).toMatch(/Apply complete in \d+ ms/);
  expect(fs.statSync(pgPath()).isDirectory()).toBe(true);
  const second = plan(out, '--detailed-exitcode');
  expect(second).toMatchObject({
    status: 0,
    stdout: expect.stringMatching(/No changes\. The host matches the stack\./),
  });
  const json = JSON.parse(plan(out, '--format', 'json').stdout);
  expect(json).toMatchObject({
    version: 1,
    roots: [host.root],
    summary: { 'no-op': 4 },
    fingerprint: expect.any(String),
  });
  expect(json.items[0]).toMatchObject({
    stack: 'eng',
    address: 'eng/app/cache',
    kind: 'storage',
    subject: 'disk cache',
    action: 'no-op',
    safety: 'safe',
  });
});

hostTest()('drift made by hand shows as repair, and apply repairs what is safe', () => {
  const out = synth();
  expect(hoststore(['apply', '--app', out, '--auto-approve']).status).toBe(0);
  fs.writeFileSync(`${pgPath()}/f`, 'kept');
  // a "reboot": mounts and loop devices gone
  simulateReboot(host.root);
  const drift = plan(out);
  expect(drift.stdout).toMatch(/! repair  mount pg -> db\[1\]:\/data {2}\[safe\]/);
  expect(drift.stdout).toMatch(/mount missing: remount/);
  expect(hoststore(['apply', '--app', out, '--auto-approve']).status).toBe(0);
  expect(fs.readFileSync(`${pgPath()}/f`, 'utf8')).toBe('kept');
  expect(plan(out, '--detailed-exitcode').status).toBe(0);
});

hostTest()('a truncated or deleted image is flagged, never silently recreated', () => {
  const out = synth({ withCache: false });
  expect(hoststore(['apply', '--app', out, '--auto-approve']).status).toBe(0);
  expect(hoststore(['delete', 'pg', '--force', '--yes', '--root', host.root]).status).toBe(0);
  // put back a record-less state: recreate via apply, then truncate behind its back
  expect(hoststore(['apply', '--app', out, '--auto-approve']).status).toBe(0);
  simulateReboot(host.root);
  fs.truncateSync(pgImage(), 512 * 1024 ** 2);
  const truncated = plan(out, '--format', 'markdown');
  expect(truncated.stdout).toMatch(/\*\*1 change\(s\) put data at risk or are refused:\*\*/);
  expect(truncated.stdout).toMatch(
    /\*\*refused\*\*: repair disk pg — image: 1 GB -> 536870912 bytes \(disk pg: .* was truncated behind hoststore's back/,
  );
  const refused = hoststore(['apply', '--app', out, '--auto-approve']);
  expect(refused).toMatchObject({
    status: 3,
    stderr: expect.stringMatching(/the plan has refused changes, so nothing was applied/),
  });
  fs.rmSync(pgImage());
  expect(plan(out).stdout).toMatch(
    /! repair  disk pg {2}\[data-loss\].*\n.*is missing \(deleted behind hoststore's back\)/,
  );
});

hostTest()('a saved plan applies exactly, and is refused once the host changed', () => {
  const out = synth();
  const file = `${host.root}/plan.json`;
  expect(plan(out, '--out', file).status).toBe(0);
  expect(hoststore(['apply', file]).status).toBe(0);
  expect(plan(out, '--detailed-exitcode').status).toBe(0);
  // plan a grow, then change the host before applying it
  const grown = synth({ size: 2 });
  expect(plan(grown, '--out', file).stdout).toMatch(/~ update  disk pg {2}\[downtime\]/);
  execFileSync('umount', [pgPath()]);
  const stale = hoststore(['apply', file]);
  expect(stale).toMatchObject({
    status: 3,
    stderr: expect.stringMatching(/changed since .* was planned .*; nothing was applied/),
  });
});

hostTest()('storage removed from the code is retained by default; destroy policy needs --allow-data-loss', () => {
  expect(hoststore(['apply', '--app', synth({ cachePolicy: 'destroy' }), '--auto-approve']).status).toBe(0);
  const without = synth({ withCache: false });
  const shown = plan(without);
  expect(shown.stdout).toMatch(
    /- delete  mount cache -> web\[1\]:\/cache {2}\[safe\] {2}eng\/app \(removed from code\)/,
  );
  expect(shown.stdout).toMatch(/- delete  disk cache {2}\[data-loss\]/);
  const refused = hoststore(['apply', '--app', without, '--auto-approve']);
  expect(refused).toMatchObject({ status: 3, stderr: expect.stringMatching(/--allow-data-loss cache/) });
  expect(fs.existsSync(imagePath(host.root, 'disk', 'app', 'cache'))).toBe(true);
  expect(hoststore(['apply', '--app', without, '--auto-approve', '--allow-data-loss', 'cache']).status).toBe(0);
  expect(fs.existsSync(imagePath(host.root, 'disk', 'app', 'cache'))).toBe(false);
  // and with the default policy the data stays
  expect(hoststore(['apply', '--app', synth(), '--auto-approve']).status).toBe(0);
  expect(plan(without).stdout).toMatch(/-\/ retain  disk cache {2}\[safe\]/);
  expect(hoststore(['apply', '--app', without, '--auto-approve']).status).toBe(0);
  expect(JSON.parse(hoststore(['status', 'cache', '--json', '--root', host.root]).stdout)).toMatchObject({
    state: 'retained',
  });
  const destroyed = hoststore(['destroy', '--app', without, '--auto-approve']);
  expect(destroyed.stdout).toMatch(/Destroy complete\. Retained \(data kept\):\n {2}disk pg: /);
  expect(hostLoopsUnder(host.root)).toEqual([]);
});

hostTest()(
  'apply waits for another deploy holding the root lock, then gives up naming it and changes nothing',
  async () => {
    const out = synth();
    // GIVEN another live deploy holds the root's lock (this test process stands in for it)
    fs.mkdirSync(`${host.root}/registry`, { recursive: true });
    fs.writeFileSync(
      `${host.root}/registry/lock`,
      JSON.stringify({ pid: process.pid, holder: 'cdktf deploy of stack eng', since: '2026-01-01T00:00:00Z' }),
    );
    // WHEN apply runs with a short wait
    const blocked = hoststore(['apply', '--app', out, '--auto-approve'], undefined, {
      HOSTSTORE_LOCK_TIMEOUT_MS: '300',
    });
    // THEN it gives up naming the holder, and made nothing
    expect(blocked.status).not.toBe(0);
    expect(blocked.stderr).toMatch(/locked by cdktf deploy of stack eng \(pid \d+, since 2026-01-01T00:00:00Z\)/);
    expect(fs.existsSync(pgImage())).toBe(false);
    // AND once the lock is released the same apply goes through, with its lock released afterwards
    fs.rmSync(`${host.root}/registry/lock`);
    expect(hoststore(['apply', '--app', out, '--auto-approve']).status).toBe(0);
    expect(fs.existsSync(`${host.root}/registry/lock`)).toBe(false);
    expect(plan(out, '--detailed-exitcode').status).toBe(0);
  },
);
