/**
 * What the CLI prints: plain in a pipe (no colour, no wrapping, so scripts can parse it), coloured and
 * fitted to the width on a terminal (a real pty, from script(1)), honouring NO_COLOR, FORCE_COLOR and
 * --no-color; apply's n/m progress; names in natural order (d1, d2, d10).
 */
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { CLI, hoststore } from '../helpers/cli.js';
import { synthModel } from '../helpers/synth-model.js';
import { storageWire } from '../helpers/specs.js';

let host: HostFixture;
const outs: string[] = [];
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => {
  host.cleanup();
  for (const out of outs.splice(0)) fs.rmSync(out, { recursive: true, force: true });
});

const ESC = '\x1b[';
const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/** Runs the CLI on a pty `columns` wide (script(1)); returns what the terminal got, CRs removed. */
function onTerminal(
  args: string[],
  columns: number,
  env: NodeJS.ProcessEnv = {},
): { status: number | null; output: string } {
  const command = `stty cols ${columns} rows 40; ${quote(process.execPath)} ${quote(CLI)} ${args.map(quote).join(' ')}`;
  const result = spawnSync('script', ['-qec', command, '/dev/null'], {
    encoding: 'utf8',
    env: { ...process.env, TERM: 'xterm', ...env },
  });
  return { status: result.status, output: result.stdout.replace(/\r/g, '') };
}

/** Applies three directory volumes named d10, d2, d1 (declared in that order). */
function applyThree(): ReturnType<typeof hoststore> {
  const out = synthModel({
    stack: 'out',
    root: host.root,
    storage: ['d10', 'd2', 'd1'].map((name) => ({ id: name, type: 'Volume' as const, props: { type: 'directory' } })),
  });
  outs.push(out);
  return hoststore(['apply', '--app', out, '--auto-approve']);
}

hostTest()('apply shows each change as n/m, in natural order; list names them d1, d2, d10', () => {
  const applied = applyThree();
  expect(applied.status).toBe(0);
  const steps = applied.stdout.split('\n').filter((l) => /^\[\d+\/\d+\] .*: done in \d+ ms$/.test(l));
  expect(steps.map((l) => l.replace(/: done in \d+ ms$/, ''))).toEqual([
    '[1/3] create directory d1',
    '[2/3] create directory d2',
    '[3/3] create directory d10',
  ]);
  expect(applied.stdout).toMatch(/^\[1\/3\] create directory d1 \.\.\.$/m);
  expect(applied.stdout).not.toContain(ESC);
  const listed = hoststore(['list', '--root', host.root]);
  expect(
    listed.stdout
      .split('\n')
      .slice(1, 4)
      .map((l) => l.split(/\s+/)[0]),
  ).toEqual(['d1', 'd2', 'd10']);
  expect(
    JSON.parse(hoststore(['list', '--json', '--root', host.root]).stdout).map((i: { name: string }) => i.name),
  ).toEqual(['d1', 'd2', 'd10']);
});

hostTest('script')(
  'on a terminal: colour unless NO_COLOR or --no-color; the table fits a narrow terminal; in a pipe: plain and whole',
  () => {
    expect(applyThree().status).toBe(0);
    const piped = hoststore(['list', '--root', host.root]);
    // A pipe: not cut to any width, no colour, even with COLUMNS set.
    expect(piped.stdout).not.toContain(ESC);
    const longest = Math.max(...piped.stdout.split('\n').map((l) => l.length));
    expect(longest).toBeGreaterThan(60);
    expect(hoststore(['list', '--root', host.root], undefined, { COLUMNS: '40' }).stdout).toBe(piped.stdout);
    // FORCE_COLOR colours even a pipe.
    expect(hoststore(['list', '--root', host.root], undefined, { FORCE_COLOR: '1' }).stdout).toContain(`${ESC}1mNAME`);

    const wide = onTerminal(['list', '--root', host.root], 200);
    expect(wide.status).toBe(0);
    // The header whole and bold, each row on one line.
    expect(wide.output).toMatch(/^\x1b\[1mNAME {2}KIND {7}PROJECT {2}SIZE .*LEASE\x1b\[22m$/m);
    expect(wide.output.split('\n').filter((l) => /^d\d+ /.test(l))).toHaveLength(3);
    expect(onTerminal(['list', '--root', host.root], 200, { NO_COLOR: '1' }).output).not.toContain(ESC);
    expect(onTerminal(['--no-color', 'list', '--root', host.root], 200).output).not.toContain(ESC);
    expect(onTerminal(['list', '--no-color', '--root', host.root], 200).output).not.toContain(ESC);

    const narrow = onTerminal(['list', '--root', host.root], 60, { NO_COLOR: '1' });
    expect(narrow.status).toBe(0);
    const lines = narrow.output.split('\n').filter(Boolean);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(60);
    // Every row is still there, in order, wrapped rather than cut off.
    expect(lines.filter((l) => /^d\d+\s/.test(l)).map((l) => l.split(/\s+/)[0])).toEqual(['d1', 'd2', 'd10']);
  },
);

hostTest('script')(
  'snapshot create shows its copy as it goes: a start line in a pipe, live bytes on a terminal',
  () => {
    expect(hoststore(['handle', 'storage', 'converge'], storageWire(host.root, { size_gb: '1' })).status).toBe(0);
    // A pipe (as CI): plain lines, the copy's start before the snapshot's end.
    const piped = hoststore(['snapshot', 'create', 'data', '--root', host.root]);
    expect(piped.status).toBe(0);
    expect(piped.stdout).toMatch(/^snapshot of data: copying \.\.\.\n(.*\n)*disk data: snapshot \S+ taken/m);
    expect(piped.stdout).not.toContain(ESC);
    // A terminal: one line rewritten in place, with bytes copied of the total.
    const live = onTerminal(['snapshot', 'create', 'data', '--root', host.root], 120, { NO_COLOR: '1' });
    expect(live.status).toBe(0);
    expect(live.output).toMatch(/\x1b\[Ksnapshot of data: copying \d+\.\d\d GiB of \d+\.\d\d GiB \(\d+%\)/);
    expect(live.output).toMatch(/disk data: snapshot \S+ taken/);
    // With --json, stdout is the JSON alone; progress goes to stderr.
    const json = hoststore(['snapshot', 'create', 'data', '--json', '--root', host.root]);
    expect(JSON.parse(json.stdout)).toMatchObject({ storage: 'data', trigger: 'manual' });
    expect(json.stderr).toMatch(/^snapshot of data: copying \.\.\./);
  },
);
