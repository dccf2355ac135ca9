/**
 * `hoststore plan` (and `diff`) exit codes a script can rely on: a refused change is never exit 0, with or
 * without --detailed-exitcode, and stays apart from 2 (changes) and 1 (an error).
 */
import * as fs from 'node:fs';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { hoststore } from '../helpers/cli.js';
import { synthModel } from '../helpers/synth-model.js';

let host: HostFixture;
const outs: string[] = [];
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => {
  host.cleanup();
  for (const out of outs.splice(0)) fs.rmSync(out, { recursive: true, force: true });
});

function synth(sizeGb: number): string {
  const out = synthModel({ stack: 'eng', root: host.root, storage: [{ id: 'db', type: 'Volume', props: { sizeGb } }] });
  outs.push(out);
  return out;
}

hostTest()('a refused change makes plan and diff exit 3, with and without --detailed-exitcode', () => {
  // GIVEN a volume of 2 GB on the host
  const big = synth(2);
  expect(hoststore(['apply', '--app', big, '--auto-approve']).status).toBe(0);
  // WHEN the code shrinks it (refused: it would lose data)
  const small = synth(1);
  const plain = hoststore(['plan', '--app', small]);
  // THEN plan says so and exits 3 (refused), not 0
  expect(plain).toMatchObject({
    status: 3,
    stdout: expect.stringMatching(/refused/),
    stderr: expect.stringMatching(/1 change is refused/),
  });
  expect(hoststore(['plan', '--app', small, '--detailed-exitcode'])).toMatchObject({ status: 3 });
  expect(hoststore(['diff', '--base', big, '--app', small])).toMatchObject({ status: 3 });
  expect(hoststore(['diff', '--base', big, '--app', small, '--detailed-exitcode'])).toMatchObject({ status: 3 });
  // AND an unrefused change keeps its codes: 0 plain, 2 detailed
  const bigger = synth(3);
  expect(hoststore(['plan', '--app', bigger])).toMatchObject({ status: 0 });
  expect(hoststore(['plan', '--app', bigger, '--detailed-exitcode'])).toMatchObject({ status: 2 });
});
