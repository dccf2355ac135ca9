/**
 * `hoststore dashboard` as a user runs it (the built CLI, a real listening server, real HTTP): --listen
 * checked in one line, the printed address, a clean stop on SIGTERM, the token rule off loopback (refused
 * without one and nothing listens; 401 without it, Bearer, the cookie flow), the bundled client script.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { hostTest, makeHostFixture, requireRoot, type HostFixture } from '../helpers/host-fixture.js';
import { spawn } from 'node:child_process';
import { CLI, hoststore, hoststoreAsync } from '../helpers/cli.js';
import { synthModel } from '../helpers/synth-model.js';
import { freePort, listening, nonLoopbackAddress, SECURITY_HEADERS } from './http-fixture.js';

let host: HostFixture;
const children: Array<ReturnType<typeof hoststoreAsync>> = [];
beforeEach(() => {
  host = makeHostFixture('hoststore-dash-cli-');
});
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await c.done;
  }
  host.cleanup();
});

const TOKEN = 'a-test-token-0123456789abcdef';

/** Starts the dashboard; resolves once it printed its address (or rejects with what it said and its status). */
async function start(args: string[], env: NodeJS.ProcessEnv = {}) {
  const run = hoststoreAsync(['dashboard', '--root', host.root, ...args], undefined, env);
  children.push(run);
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    run.child.stdout.on('data', (d) => {
      out += d;
      const m = /^dashboard: (http:\/\/\S+) \(read-only; Ctrl-C to stop\)$/m.exec(out);
      if (m) resolve(m[1]);
    });
    run.done.then((r) => reject(new Error(`dashboard exited ${r.status}: ${r.stderr}${r.stdout}`)));
  });
  return { run, url, output: () => out };
}

test.each([
  ['7780', 'is not HOST:PORT'],
  ['127.0.0.1:70000', 'has port 70000, above 65535'],
  ['[zz::q]:7780', 'is not an IPv6 address'],
  ['example.com:7780', 'is not an IPv4 address, [IPv6] or localhost'],
  ['127.0.0.1:-1', 'is not HOST:PORT'],
])('--listen %s is refused in one line (exit 2)', (listen, why) => {
  const result = hoststore(['dashboard', '--root', '/srv/hoststore-nothing', '--listen', listen]);
  expect(result.status).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(why)]);
  expect(result.stderr).toContain('give HOST:PORT, such as 127.0.0.1:7780');
});

test('--root and --app together: one usage line', () => {
  const result = hoststore(['dashboard', '--root', '/srv/x', '--app', '/tmp/out', '--listen', '127.0.0.1:0']);
  expect(result.status).toBe(2);
  expect(result.stderr.trim().split('\n')).toEqual([
    'hoststore: --root and --app each choose what to show: give one of them',
  ]);
});

hostTest()(
  'it prints its address, serves the root, and stops cleanly on SIGTERM (exit 0, nothing listening)',
  async () => {
    const { run, url } = await start(['--listen', '127.0.0.1:0']);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const response = await fetch(new URL('/api/storage', url));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([]);
    run.child.kill('SIGTERM');
    const ended = await run.done;
    expect(ended.status).toBe(0);
    expect(ended.stderr).toBe('');
    expect(await listening('127.0.0.1', Number(new URL(url).port))).toBe(false);
  },
);

hostTest()(
  'it reads the clock hoststore reads: HOSTSTORE_NOW pins it; a bad one is one line, and nothing listens',
  async () => {
    const { url } = await start(['--listen', '127.0.0.1:0'], { HOSTSTORE_NOW: '2026-11-20T09:30:00Z' });
    const overview = (await (await fetch(new URL('/api/overview', url))).json()) as { generatedAt: string };
    expect(overview.generatedAt).toBe('2026-11-20T09:30:00.000Z');
    const bad = hoststore(['dashboard', '--root', host.root, '--listen', '127.0.0.1:0'], undefined, {
      HOSTSTORE_NOW: 'soon',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^hoststore: HOSTSTORE_NOW must be an ISO 8601 time/),
    ]);
  },
);

hostTest()('the client script of the bundle is self-contained: it runs on a page without the table', async () => {
  const { url } = await start(['--listen', 'localhost:0']);
  expect(url).toMatch(/^http:\/\/localhost:\d+\/$/);
  const script = await (await fetch(new URL('/assets/dashboard.js', url))).text();
  expect(script).not.toMatch(/\beval\(|innerHTML|new Function/);
  // Run in a bare context: a reference to anything of the bundle (a helper, an import) would throw here.
  const context = vm.createContext({ document: { getElementById: () => null } });
  expect(() => vm.runInContext(script, context)).not.toThrow();
});

/** Runs `hoststore dashboard ARGS` in `cwd` (no --root, no HOSTSTORE_ROOT); resolves with its address. */
async function startIn(cwd: string, args: string[]) {
  const env = { ...process.env };
  delete env.HOSTSTORE_ROOT;
  const child = spawn(process.execPath, [CLI, 'dashboard', '--listen', '127.0.0.1:0', ...args], { cwd, env });
  const run = {
    child,
    done: new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    }),
  };
  children.push(run as unknown as ReturnType<typeof hoststoreAsync>);
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^dashboard: (http:\/\/\S+) /m.exec(out);
      if (m) resolve(m[1]);
    });
    run.done.then((r) => reject(new Error(`dashboard exited ${r.status}: ${r.stderr}`)));
  });
}

hostTest()(
  "inside a cdktf app it shows the app's roots and its pending plan; with --app DIR, that synth output's",
  async () => {
    // GIVEN an app directory (cdktf.json) whose synth output declares a root with a directory volume, applied
    const app = fs.mkdtempSync(path.join(os.tmpdir(), 'dash-app-'));
    try {
      const model = (extra: boolean) => ({
        stack: 'site',
        root: host.root,
        storage: [
          { id: 'web', type: 'Volume' as const, props: { type: 'directory' } },
          ...(extra ? [{ id: 'more', type: 'Volume' as const, props: { type: 'directory' } }] : []),
        ],
      });
      const out = synthModel(model(false));
      fs.renameSync(out, path.join(app, 'cdktf.out'));
      fs.writeFileSync(path.join(app, 'cdktf.json'), JSON.stringify({ app: 'true', output: 'cdktf.out' }));
      expect(hoststore(['apply', '--app', path.join(app, 'cdktf.out'), '--auto-approve']).status).toBe(0);
      // WHEN the dashboard starts there without --root
      const inApp = await startIn(app, []);
      const rows = (await (await fetch(new URL('/api/storage', inApp))).json()) as Array<{
        name: string;
        root: string;
      }>;
      expect(rows.map((r) => [r.name, r.root])).toEqual([['web', host.root]]);
      // AND the app's own synth output gives the plan without --app (a user found /plan asking for --app there)
      const applied = await fetch(new URL('/api/plan', inApp));
      expect(applied.status).toBe(200);
      expect(((await applied.json()) as { summary: { create: number } }).summary.create).toBe(0);
      expect(await (await fetch(new URL('/plan', inApp))).text()).not.toContain('start the dashboard with');
      // WHEN it is given the next synth output with --app
      const next = synthModel(model(true));
      try {
        const withApp = await startIn(os.tmpdir(), ['--app', next]);
        const plan = (await (await fetch(new URL('/api/plan', withApp))).json()) as { summary: { create: number } };
        expect(plan.summary.create).toBe(1);
        expect(await (await fetch(new URL('/plan', withApp))).text()).toMatch(
          /<tr data-safety="safe" data-action="create"[^>]*>[\s\S]*directory more/,
        );
      } finally {
        fs.rmSync(next, { recursive: true, force: true });
      }
    } finally {
      fs.rmSync(app, { recursive: true, force: true });
    }
  },
);

const offLoopback = nonLoopbackAddress();
const tokenTest = offLoopback && requireRoot() ? test : test.skip;

tokenTest(`a non-loopback --listen (${offLoopback}) without a token: one line, exit 2, nothing listens`, async () => {
  const port = await freePort(offLoopback);
  const result = hoststore(['dashboard', '--root', host.root, '--listen', `${offLoopback}:${port}`], undefined, {
    HOSTSTORE_DASHBOARD_TOKEN: '',
  });
  expect(result.status).toBe(2);
  expect(result.stderr.trim().split('\n')).toEqual([
    `hoststore: --listen ${offLoopback}:${port} is not a loopback address, so the dashboard needs a token: --token-file FILE (owned by root, mode 0600) or HOSTSTORE_DASHBOARD_TOKEN; nothing is listening`,
  ]);
  expect(await listening(offLoopback!, port)).toBe(false);
  // 0.0.0.0 is every address, loopback or not: the same rule.
  expect(hoststore(['dashboard', '--root', host.root, '--listen', '0.0.0.0:0']).status).toBe(2);
});

tokenTest(
  'with a token: 401 without it, 200 with Bearer, the cookie set by /?token= and the token gone from the address',
  async () => {
    const { url, output } = await start(['--listen', `${offLoopback}:0`], { HOSTSTORE_DASHBOARD_TOKEN: TOKEN });
    expect(output()).not.toContain(TOKEN);
    const api = new URL('/api/storage', url);
    const without = await fetch(api);
    expect(without.status).toBe(401);
    expect(await without.json()).toEqual({ error: expect.stringContaining('needs its token') });
    expect(without.headers.get('x-frame-options')).toBe(SECURITY_HEADERS['x-frame-options']);
    expect((await fetch(api, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    expect((await fetch(api, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    // A wrong ?token= sets nothing.
    const wrong = await fetch(new URL('/?token=nope', url), { redirect: 'manual' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const visit = await fetch(new URL(`/?token=${TOKEN}`, url), { redirect: 'manual' });
    expect(visit.status).toBe(303);
    expect(visit.headers.get('location')).toBe('/');
    const cookie = visit.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^hoststore_dashboard=[^;]+; Path=\/; HttpOnly; SameSite=Strict$/);
    const page = await fetch(url, { headers: { cookie: cookie.split(';')[0] } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<table id="storage">');
  },
);

tokenTest("a token file must be root's alone (mode 0600): one line saying so, exit 2", () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dash-token-')), 'token');
  try {
    fs.writeFileSync(file, `${TOKEN}\n`, { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const open = hoststore(['dashboard', '--root', host.root, '--listen', `${offLoopback}:0`, '--token-file', file]);
    expect(open.status).toBe(2);
    expect(open.stderr.trim().split('\n')).toEqual([expect.stringContaining('is open to group or others (mode 0644)')]);
    fs.writeFileSync(file, 'short\n');
    fs.chmodSync(file, 0o600);
    const short = hoststore(['dashboard', '--root', host.root, '--listen', `${offLoopback}:0`, '--token-file', file]);
    expect(short.status).toBe(2);
    expect(short.stderr.trim().split('\n')).toEqual([expect.stringContaining('at least 16 characters')]);
    expect(short.stderr).not.toContain('short');
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});
