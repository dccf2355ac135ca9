/**
 * Attacks on the engine's input (issue 9 §1): a synth output (`--app`) is often a directory another user
 * wrote (their checkout, their home); as root, hoststore reads only what lies in it and says what is wrong
 * with it in one line, never echoing what it read.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hoststore } from '../helpers/cli.js';

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-app-'));
  dirs.push(dir);
  return dir;
}

/** A file outside the synth output that only root may read, holding a secret. */
function secretFile(text: string): string {
  const file = path.join(tempDir(), 'secret');
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

// plan takes its roots from the synth output (it takes no --root).
const plan = (app: string) => hoststore(['plan', '--app', app]);

test('a stack path leading out of the synth output is refused in one line, and the file is neither parsed nor echoed', () => {
  const secret = secretFile('s3cret-token and more');
  const app = tempDir();
  fs.writeFileSync(
    path.join(app, 'manifest.json'),
    JSON.stringify({ stacks: { a: { name: 'a', synthesizedStackPath: path.relative(app, secret) } } }),
  );
  const result = plan(app);
  expect(result.status).toBe(2);
  expect(result.stderr).not.toMatch(/s3cret/);
  expect(result.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  expect(result.stderr).toMatch(/outside/);
});

test('a manifest.json that is a symlink to another file is refused; its content is not echoed', () => {
  const secret = secretFile('s3cret-token and more');
  const app = tempDir();
  fs.symlinkSync(secret, path.join(app, 'manifest.json'));
  const result = plan(app);
  expect(result.status).toBe(2);
  expect(result.stderr).not.toMatch(/s3cret/);
  expect(result.stderr.split('\n').filter(Boolean)).toHaveLength(1);
});

test('a synth output that is not JSON gets one line (exit 2), not an internal error with a stack', () => {
  const app = tempDir();
  fs.writeFileSync(path.join(app, 'manifest.json'), 'not json at all');
  const result = plan(app);
  expect(result.status).toBe(2);
  expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(result.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  expect(result.stderr).toMatch(/manifest\.json/);
});

describe('the saved plan (plan --out, apply FILE), often in /tmp', () => {
  const app = () => {
    const out = tempDir();
    fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify({ stacks: {} }));
    return out;
  };

  test('plan --out replaces a symlink planted at its name instead of writing through it', () => {
    const victim = secretFile('victim content');
    const out = path.join(tempDir(), 'plan.json');
    fs.symlinkSync(victim, out);
    const result = hoststore(['plan', '--app', app(), '--out', out]);
    expect(result.status).toBe(0);
    expect(fs.readFileSync(victim, 'utf8')).toBe('victim content');
    expect(fs.lstatSync(out).isFile()).toBe(true);
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).hoststorePlan).toBe(1);
  });

  test('plan --out over a file another user made leaves a file only root can change, and apply refuses a plan others could have edited', () => {
    const dir = tempDir();
    fs.chmodSync(dir, 0o1777);
    const out = path.join(dir, 'plan.json');
    fs.writeFileSync(out, '');
    fs.chownSync(out, 65534, 65534);
    expect(hoststore(['plan', '--app', app(), '--out', out]).status).toBe(0);
    const stat = fs.statSync(out);
    expect(stat.uid).toBe(0);
    expect(stat.mode & 0o022).toBe(0);
    // WHEN the saved plan is one another user owns (they could have edited what it applies)
    fs.chownSync(out, 65534, 65534);
    const applied = hoststore(['apply', out, '--auto-approve']);
    expect(applied.status).toBe(3);
    expect(applied.stderr).toMatch(/nobody|65534/);
    expect(applied.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });
});
