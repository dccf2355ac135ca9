/**
 * Every hint that names a command carries the `--root` it needs: copied as it is, it acts on the same
 * root. One helper builds them (provider/command-hint.ts); this checks its output, the real messages,
 * and that no message in provider/ writes a command by hand.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { converge, makeContext, remove } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { commandHint } from '../../provider/command-hint.js';
import { DEFAULT_ROOT, imagePath } from '../../src/schema.js';
import { hostTest, makeHostFixture, simulateReboot, type HostFixture } from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { hoststore } from '../helpers/cli.js';

const PROVIDER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../provider');

test('a hint names --root unless the root is the default, quoted when the shell needs it', () => {
  expect(commandHint(DEFAULT_ROOT, 'up')).toBe('hoststore up');
  expect(commandHint(undefined, 'list')).toBe('hoststore list');
  expect(commandHint('/srv/hoststore', 'lease break pg')).toBe('hoststore lease break pg --root /srv/hoststore');
  expect(commandHint("/srv/my store's", 'up')).toBe("hoststore up --root '/srv/my store'\\''s'");
});

test('no message in provider/ names a command to run except through commandHint', () => {
  const sources = (fs.readdirSync(PROVIDER, { recursive: true }) as string[]).filter(
    (f) => f.endsWith('.ts') && f !== 'command-hint.ts' && f !== 'cli.ts',
  );
  // A command to run, as hints word it: "run hoststore up", "(see hoststore list)", "`hoststore delete ...".
  const hint = /(run |see |with |[(`:] ?)hoststore (up|delete|lease|snapshot|pool|list|status|import)\b(?!:)/;
  const offenders = sources.flatMap((file) =>
    fs
      .readFileSync(path.join(PROVIDER, file), 'utf8')
      .split('\n')
      .map((line, i) => ({ line: line.trim(), where: `${file}:${i + 1}` }))
      // Lock holder labels and usage lines name a command, but are no hint to run one.
      .filter(
        ({ line }) =>
          !/^(\*|\/\/|\/\*)/.test(line) && !/(usage|use): hoststore|holder: `hoststore/.test(line) && hint.test(line),
      )
      .map(({ where, line }) => `${where}: ${line.slice(0, 160)}`),
  );
  expect(offenders).toEqual([]);
});

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => host.cleanup());

const cli = (...args: string[]) => hoststore([...args, '--root', host.root]);

hostTest()("the CLI's hints name the root they were run on", () => {
  expect(cli('status', 'nope')).toMatchObject({
    status: 1,
    stderr: expect.stringContaining(`(see hoststore list --root ${host.root})`),
  });
  expect(cli('snapshot', 'restore', 'nope.20260101T000000Z.disk', '--to', 'x')).toMatchObject({
    stderr: expect.stringContaining(`hoststore snapshot list --root ${host.root}`),
  });
});

hostTest()("a handler's hint names its spec's root", async () => {
  const lines: string[] = [];
  const ctx = makeContext(host.root, { log: (line) => lines.push(line) });
  const spec = storageHandler.validate(storageWire(host.root));
  await converge(storageHandler, ctx, spec);
  await remove(storageHandler, ctx, spec);
  expect(lines.join('\n')).toContain(`delete it with \`hoststore delete data --root ${host.root}\``);
});

hostTest()('hoststore up names the root in what to do about a missing image', async () => {
  const ctx = makeContext(host.root, { log: () => undefined });
  await converge(storageHandler, ctx, storageHandler.validate(storageWire(host.root)));
  await converge(mountHandler, ctx, mountHandler.validate(mountWire(host.root)));
  simulateReboot(host.root);
  fs.rmSync(imagePath(host.root, 'disk', 'app', 'data'));
  const up = cli('up');
  expect(up.status).toBe(1);
  expect(up.stderr).toContain(`run hoststore up --root ${host.root} again`);
  expect(up.stderr).toContain(`\`hoststore delete data --yes --root ${host.root}\``);
});
