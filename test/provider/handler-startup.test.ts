/**
 * What a handler process pays before it does anything, which Terraform pays per resource: the built CLI
 * (dist/provider/cli.js and its handler bundle, scripts/bundle.mjs) loads no built-in a call that finds nothing
 * to do does not run, and its code cache holds the handler's code compiled, not only the bundle's top level.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cacheFileOf, compileCommonJs } from '../../provider/cli/code-cache.js';
import { CLI, hoststore } from '../helpers/cli.js';

const HANDLER = path.join(path.dirname(CLI), 'chunks/handle-main.cjs');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-startup-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The node built-ins a CLI call loaded, as node lists them when the process exits. */
function builtinsLoadedBy(args: string[], spec: unknown): { loaded: string[]; stderr: string } {
  const record = path.join(dir, 'loaded');
  const preload = path.join(dir, 'record.cjs');
  fs.writeFileSync(
    preload,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(record)}, process.moduleLoadList.join('\\n')));\n`,
  );
  const { stderr } = hoststore(args, spec, { NODE_OPTIONS: `--require ${preload}` });
  const loaded = fs
    .readFileSync(record, 'utf8')
    .split('\n')
    .filter((m) => m.startsWith('NativeModule '))
    .map((m) => m.slice('NativeModule '.length));
  return { loaded, stderr };
}

test.each(['storage', 'mount'])('a %s handler call does not load node:child_process', (kind) => {
  // WHEN the handler runs up to its spec's validation (the modules a no-op loads, without a host)
  const { loaded, stderr } = builtinsLoadedBy(['handle', kind, 'converge'], { kind: 'nonsense' });
  expect(stderr).toMatch(new RegExp(`^hoststore: ${kind} spec rejected: `));
  // THEN it did not load node:child_process (with net and the streams): only a backup's lookup or a command runs it
  expect(loaded).not.toContain('child_process');
});

test("the handler's code cache holds more than the bundle's top level: the warm-up's compiled code", () => {
  // GIVEN the bundle as built, and the cache V8 makes of it before running any of it
  const source = fs.readFileSync(HANDLER, 'utf8');
  const cold = compileCommonJs(`${dir}/cold.cjs`, source).createCachedData();
  // THEN the build's cache (a 32-byte digest, then V8's data) holds the functions its warm-up compiled too
  const built = fs.readFileSync(cacheFileOf(HANDLER)).length - 32;
  expect(built).toBeGreaterThan(cold.length * 1.4);
});
