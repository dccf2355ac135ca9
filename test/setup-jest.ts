import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing } from 'cdktf';
// Types of the matchers Testing.setupJest() installs (toHaveResourceWithProperties, ...).
import type {} from 'cdktf/lib/testing/adapters/jest.js';

Testing.setupJest();

// Testing.app() and Testing.fullSynth() each make a `cdktf.outdir.*` directory in the temp dir and never
// remove it; remove the ones this test file made (jest runs files one at a time: --runInBand).
const outdirs = () => new Set(fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('cdktf.outdir.')));
let before = new Set<string>();
beforeAll(() => {
  before = outdirs();
});
afterAll(() => {
  for (const name of outdirs())
    if (!before.has(name)) fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
});

// No test may leave a cron entry in the host's /etc/cron.d (tests give policies their own HOSTSTORE_CRON_DIR):
// an entry left there would run `snapshot run-due` as root every minute against a deleted root. One that
// appeared while this file ran and whose root is gone is a leak: removed, and the file fails. An entry whose
// root still exists is someone's real policy (a deploy run on this machine meanwhile): never touched.
const HOST_CRON = '/etc/cron.d';
const cronEntries = () =>
  new Set(fs.existsSync(HOST_CRON) ? fs.readdirSync(HOST_CRON).filter((name) => name.startsWith('hoststore-')) : []);
/** The root an entry's run-due line names (quoted or bare), or undefined when it has none. */
function entryRoot(name: string): string | undefined {
  try {
    const body = fs.readFileSync(path.join(HOST_CRON, name), 'utf8');
    const word = /snapshot run-due --root (.*) >\/dev\/null$/m.exec(body)?.[1];
    return word?.startsWith("'") ? word.slice(1, -1).replace(/'\\''/g, "'") : word;
  } catch {
    return undefined;
  }
}
let cronBefore = new Set<string>();
beforeAll(() => {
  cronBefore = cronEntries();
});
afterAll(() => {
  const leaked = [...cronEntries()].filter((name) => {
    if (cronBefore.has(name)) return false;
    const root = entryRoot(name);
    return root === undefined || !fs.existsSync(root);
  });
  for (const name of leaked) fs.rmSync(path.join(HOST_CRON, name), { force: true });
  expect(leaked).toEqual([]);
});

// The ssh configs and connection sockets hoststore keeps for remote hosts (provider/remote/control-dir.ts) go
// to a runtime directory of this test file's own (a short path: a socket's must fit 104 bytes), removed after
// it, not to the machine's /tmp/hoststore-ssh-<uid> (tests of where they go set XDG_RUNTIME_DIR or TMPDIR).
const runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-rt-'));
const runtimeBefore = process.env.XDG_RUNTIME_DIR;
process.env.XDG_RUNTIME_DIR = runtimeDir;
afterAll(() => {
  if (runtimeBefore === undefined) delete process.env.XDG_RUNTIME_DIR;
  else process.env.XDG_RUNTIME_DIR = runtimeBefore;
  fs.rmSync(runtimeDir, { recursive: true, force: true });
});
