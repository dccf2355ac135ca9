/**
 * Errors a user can act on (issue 9 §7): each case as the real CLI prints it, one line saying what is
 * wrong, where, and the fix; never an internal error or a wait that ends in "another process".
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { Disk, Mount, Volume } from '../../src/index.js';
import { replicaHostPath } from '../../src/schema.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { CLI, hoststore, hoststoreAsync } from '../helpers/cli.js';
import { synthModel } from '../helpers/synth-model.js';
import { errors } from '../constructs/synth-helpers.js';

let host: HostFixture;
const children: ChildProcess[] = [];
const outs: string[] = [];
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const out of outs.splice(0)) fs.rmSync(out, { recursive: true, force: true });
  host.cleanup();
});

/** One line on stderr, no stack, no internal error. */
function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]).not.toMatch(/internal error|RangeError|\n\s+at /);
  return lines[0];
}

describe('a registry file with "records" that is not an object', () => {
  test.each([
    [
      '{"version": 1, "records": null}',
      /storage\.json has "records": null, which is not an object of records by key; restore it from a backup, or if the collection really is empty, write "records": \{\}$/,
    ],
    [
      '{"version": 1, "records": [1]}',
      /storage\.json has "records": an array, which is not an object of records by key; restore it from a backup/,
    ],
    [
      'null',
      /storage\.json is not a registry collection \(it holds null, expected \{"version": 1, "records": \{\.\.\.\}\}\); restore it from a backup or fix it by hand$/,
    ],
    ['{"version": 2, "records": {}}', /storage\.json has version 2; this hoststore reads version 1/],
  ])('%s', (content, message) => {
    fs.mkdirSync(host.path('registry'));
    fs.writeFileSync(host.path('registry', 'storage.json'), content);
    const result = hoststore(['list', '--root', host.root]);
    expect(result.status).toBe(1);
    expect(oneLine(result.stderr)).toMatch(message);
  });
});

describe('the root lock', () => {
  const lockFile = () => host.path('registry', 'lock');

  test('held by a live process: names holder, pid, since, what that pid runs, and how to clear it', () => {
    // GIVEN a lock whose pid is alive but is no hoststore (a pid reused after a crash, say)
    const sleeper = spawn('sleep', ['30']);
    children.push(sleeper);
    fs.mkdirSync(host.path('registry'));
    fs.writeFileSync(
      lockFile(),
      JSON.stringify({ pid: sleeper.pid, holder: 'hoststore apply', since: '2026-11-20T10:00:00.000Z' }),
    );
    // WHEN a handler runs with a short wait
    const result = hoststore(
      ['handle', 'storage', 'converge'],
      storageWire(host.root, { kind: 'directory', size_gb: '', filesystem: '' }),
      { HOSTSTORE_LOCK_TIMEOUT_MS: '200' },
    );
    // THEN exit 4 and one line naming it all
    expect(result.status).toBe(4);
    expect(oneLine(result.stderr)).toBe(
      `hoststore: the hoststore root ${host.root} is locked by hoststore apply (pid ${sleeper.pid}, since 2026-11-20T10:00:00.000Z); gave up after 200 ms. ` +
        `pid ${sleeper.pid} runs \`sleep 30\`: wait for it to finish, or if that is not a hoststore, remove ${lockFile()}`,
    );
  });

  test('a lock path that is a directory is refused at once, with the fix', () => {
    fs.mkdirSync(lockFile(), { recursive: true });
    const started = Date.now();
    const result = hoststore(
      ['handle', 'storage', 'converge'],
      storageWire(host.root, { kind: 'directory', size_gb: '', filesystem: '' }),
      { HOSTSTORE_LOCK_TIMEOUT_MS: '5000' },
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result.status).toBe(1);
    expect(oneLine(result.stderr)).toBe(
      `hoststore: the lock ${lockFile()} is a directory, not a lock file hoststore made, so no holder will ever release it; nothing was changed. Remove it (rmdir ${lockFile()}) if nothing else uses it, then run again`,
    );
    expect(fs.existsSync(host.path('projects'))).toBe(false);
  });
});

describe('deeply nested spec JSON', () => {
  // An environment variable holds at most 128 KiB, so 60000 levels is about as deep as a spec can get.
  test.each([
    ['60000 nested arrays', '['.repeat(60000) + ']'.repeat(60000)],
    ['a field holding 60000 nested arrays', `{"kind":${'['.repeat(60000)}${']'.repeat(60000)}}`],
    ['100000 unclosed arrays', '['.repeat(100000)],
  ])('%s: a SpecError, exit 2, one line', (_name, raw) => {
    for (const op of ['converge', 'delete']) {
      const result = hoststore(['handle', 'storage', op], undefined, { HOSTSTORE_SPEC: raw });
      expect(result.status).toBe(2);
      expect(oneLine(result.stderr)).toMatch(
        /^hoststore: HOSTSTORE_SPEC (nests more than 2 levels deep|is not JSON \(.*\)): a spec is one JSON object of strings, as the synthesized provisioners write it \(got "[[{]/,
      );
    }
  });
});

hostTest()('delete of a storage whose mount record remains but whose mount is gone says so, not "mounted by"', () => {
  // GIVEN a directory volume mounted by web, then unmounted by hand (the record stays)
  const wire = storageWire(host.root, { kind: 'directory', name: 'files', size_gb: '', filesystem: '' });
  expect(hoststore(['handle', 'storage', 'converge'], wire).status).toBe(0);
  expect(
    hoststore(['handle', 'mount', 'converge'], mountWire(host.root, { storage: 'files', storage_kind: 'directory' }))
      .status,
  ).toBe(0);
  const hostPath = replicaHostPath(host.root, 'app', 'web', 1, '/data');
  execFileSync('umount', [hostPath]);
  // WHEN it is deleted without --force THEN it is refused, saying what is really the case
  const result = hoststore(['delete', 'files', '--yes', '--root', host.root]);
  expect(result.status).toBe(3);
  expect(oneLine(result.stderr)).toBe(
    `hoststore: directory files is recorded as mounted by app/web replica 1 at ${hostPath} (not mounted now); remove those Mounts from the code and apply first, or pass --force to forget the records and delete`,
  );
});

hostTest()(
  'a plan taken while another process applies waits for it, says so, and shows the finished state',
  async () => {
    // GIVEN a disk applied on the host
    const out = synthModel({
      stack: 'eng',
      root: host.root,
      storage: [{ id: 'pg', type: 'Disk', props: { name: 'pg', sizeGb: 1 } }],
    });
    outs.push(out);
    expect(hoststore(['apply', '--app', out, '--auto-approve']).status).toBe(0);
    // AND another process applying a change: it holds the root lock and has the registry half-way (a grow
    // recorded as started), which it puts back before it lets go
    const storageFile = host.path('registry', 'storage.json');
    const holder = spawn(process.execPath, [
      '--input-type=module',
      '-e',
      `
    import * as fs from 'node:fs';
    import { withRootLock } from ${JSON.stringify(path.join(path.dirname(CLI), 'registry', 'lock.js'))};
    const file = ${JSON.stringify(storageFile)};
    await withRootLock(${JSON.stringify(host.root)}, { holder: 'hoststore apply' }, async () => {
      const before = fs.readFileSync(file, 'utf8');
      const parsed = JSON.parse(before);
      for (const r of Object.values(parsed.records)) r.growingToGb = 2;
      fs.writeFileSync(file, JSON.stringify(parsed));
      process.stdout.write('holding\\n');
      await new Promise((r) => setTimeout(r, 1500));
      fs.writeFileSync(file, before);
    });
  `,
    ]);
    children.push(holder);
    await new Promise<void>((resolve) => holder.stdout.on('data', (d) => String(d).includes('holding') && resolve()));
    // WHEN a plan runs meanwhile
    const planned = await hoststoreAsync(['plan', '--app', out, '--detailed-exitcode']).done;
    // THEN it waited for the apply, said for whom, and shows no repair: the host matches once the apply is done
    expect(planned.stdout).not.toMatch(/interrupted/);
    expect(planned.stdout).toMatch(/ 0 to repair,/);
    expect(planned.stdout).toMatch(/No changes\. The host matches the stack\./);
    expect(planned.status).toBe(0);
    expect(oneLine(planned.stderr)).toMatch(
      new RegExp(
        `^hoststore: waited \\d+\\.\\d s for ${host.root}, locked by hoststore apply \\(pid ${holder.pid}, since [0-9T:.Z-]+\\); planned once it was released$`,
      ),
    );
  },
);

describe('sizeGb and other whole numbers: every way to miss says the rule and the range', () => {
  test.each([
    [1e309, 'Infinity'],
    [Number.NaN, 'NaN'],
    [-0, '-0'],
    [1.5, '1.5'],
    ['10', '"10"'],
    [0, '0'],
    [501, '501'],
    [-1, '-1'],
  ])('Volume sizeGb %p', (size, shown) => {
    expect(errors((p) => new Volume(p, 'db', { sizeGb: size as number }))).toEqual([
      `[stack/proj/db] \`sizeGb\` must be a whole number from 1 to 500 (limits.maxVolumeSizeGb) (got ${shown})`,
    ]);
  });

  test('Disk sizeGb, Mount replicas and the project limits say the same kind of line', () => {
    expect(
      errors((p) => new Disk(p, 'd', { name: 'd', sizeGb: 1e309 }), { limits: { maxVolumeSizeGb: 1000 } }),
    ).toEqual([
      '[stack/proj/d] `sizeGb` must be a whole number from 1 to 1000 (limits.maxVolumeSizeGb) (got Infinity)',
    ]);
    expect(
      errors(
        (p) =>
          new Mount(p, 'm', {
            storage: new Volume(p, 'db', { sizeGb: 1 }),
            service: 'web',
            mountPath: '/data',
            replicas: Number.NaN,
          }),
      ),
    ).toEqual(['[stack/proj/m] `replicas` must be a whole number from 1 to 100 (got NaN)']);
    expect(errors(() => undefined, { limits: { maxVolumeSizeGb: 1e309, maxVolumes: '3' as never } })).toEqual([
      '[stack/proj] `limits.maxVolumes` must be a whole number, 1 or more (got "3")',
      '[stack/proj] `limits.maxVolumeSizeGb` must be a whole number from 1 to 65536 (got Infinity)',
    ]);
  });

  test('a wire size_gb too large to be a number says the range too', () => {
    const result = hoststore(
      ['handle', 'storage', 'converge'],
      storageWire(host.root, { size_gb: `1${'0'.repeat(400)}` }),
    );
    expect(result.status).toBe(2);
    expect(oneLine(result.stderr)).toMatch(/size_gb: must be a whole number from 1 to 65536 \(got "10{116}\.\.\."\)$/);
  });
});
