/**
 * `hoststore remote`'s engine command on the host itself (no ssh): it applies only the plan the sender
 * showed (a host changed since is refused, nothing done), and answers with one JSON document.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, TerraformStack } from 'cdktf';
import { imagePath } from '../../src/schema.js';
import { Disk, StorageProject } from '../../src/index.js';
import { readDesired } from '../../provider/plan/desired.js';
import { serve } from '../../provider/remote/serve-engine.js';
import type { EngineAnswer } from '../../provider/remote/host-request.js';
import { makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';

const ADDRESS = 'storage-1.internal';
let host: HostFixture;
let out: string;
beforeEach(() => {
  host = makeHostFixture();
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-out-'));
});
afterEach(() => {
  host.cleanup();
  fs.rmSync(out, { recursive: true, force: true });
});

function desired(sizeGb: number) {
  const app = new App({ outdir: out });
  const stack = new TerraformStack(app, 'remote');
  const project = new StorageProject(stack, 'shop', { root: host.root, host: { address: ADDRESS } });
  new Disk(project, 'db', { name: 'db', sizeGb });
  app.synth();
  return readDesired(out).map(({ stack: s, address, kind, spec }) => ({ stack: s, address, kind, spec }));
}

/** The engine request's answer, read from what it wrote on stdout, and its exit status. */
async function engine(request: Record<string, unknown>): Promise<{ code: number; answer: EngineAnswer }> {
  const write = process.stdout.write;
  let stdout = '';
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  try {
    const code = await serve(request);
    return { code, answer: JSON.parse(stdout) as EngineAnswer };
  } finally {
    process.stdout.write = write;
  }
}

test('apply runs only the plan the sender saw: a host changed since is refused, then the shown plan applies', async () => {
  // GIVEN the plan the sender saw
  const wanted = desired(1);
  const planned = await engine({ op: 'plan', address: ADDRESS, desired: wanted });
  expect(planned.code).toBe(0);
  const plan = planned.answer.plan as { fingerprint: string; items: Array<{ action: string }> };
  expect(plan.items.map((i) => i.action)).toEqual(['create']);

  // WHEN it asks to apply a plan with another fingerprint (the host changed since it planned)
  const stale = await engine({
    op: 'apply',
    address: ADDRESS,
    desired: wanted,
    options: { fingerprint: '0'.repeat(64) },
  });

  // THEN nothing is done, and the answer says why (refused, exit 3)
  expect(stale.code).toBe(3);
  expect(stale.answer.error?.message).toMatch(
    /^the host changed since it was planned, so nothing was applied on storage-1.internal/,
  );
  expect(fs.existsSync(imagePath(host.root, 'disk', 'shop', 'db'))).toBe(false);

  // WHEN it applies the plan it saw
  const applied = await engine({
    op: 'apply',
    address: ADDRESS,
    desired: wanted,
    options: { fingerprint: plan.fingerprint },
  });

  // THEN the host has it, and the answer carries the apply's lines
  expect({ code: applied.code, error: applied.answer.error }).toEqual({ code: 0, error: undefined });
  expect(fs.existsSync(imagePath(host.root, 'disk', 'shop', 'db'))).toBe(true);
  expect(applied.answer.log.join('\n')).toMatch(/\] create disk db: done in \d+ ms/);
});

test('a request whose things name another host is refused before the host is read', async () => {
  const wanted = desired(1);
  const { code, answer } = await engine({ op: 'plan', address: 'storage-2.internal', desired: wanted });
  expect(code).toBe(2);
  expect(answer.error?.message).toMatch(
    /is for host "storage-1.internal", not for storage-2.internal, which this request is for; nothing was done/,
  );
  expect(fs.readdirSync(host.root)).toEqual([]);
});

test('plan-apply plans and applies in one request; a refused plan applies nothing and is answered with the plan', async () => {
  // GIVEN a disk made by a plan-apply (no fingerprint needed: nothing was shown before)
  const made = await engine({ op: 'plan-apply', address: ADDRESS, desired: desired(1) });
  expect({ code: made.code, error: made.answer.error }).toEqual({ code: 0, error: undefined });
  expect((made.answer.plan as { items: Array<{ action: string }> }).items.map((i) => i.action)).toEqual(['create']);
  expect(made.answer.log.join('\n')).toMatch(/\] create disk db: done in \d+ ms/);
  const image = imagePath(host.root, 'disk', 'shop', 'db');
  expect(fs.statSync(image).size).toBe(1024 ** 3);

  // WHEN the image is missing behind hoststore's back (recreating it would be an empty disk: data loss, undeclared)
  fs.renameSync(image, `${image}.moved`);
  const refused = await engine({ op: 'plan-apply', address: ADDRESS, desired: desired(2) });

  // THEN nothing is applied; the answer holds the plan and the refusal (exit 3)
  expect(refused.code).toBe(3);
  expect(refused.answer.error?.message).toMatch(/^the plan loses data, so nothing was applied/);
  expect((refused.answer.plan as { items: unknown[] }).items).toHaveLength(1);
  expect(fs.existsSync(image)).toBe(false);
  fs.renameSync(`${image}.moved`, image);
  expect(fs.statSync(image).size).toBe(1024 ** 3);
});
