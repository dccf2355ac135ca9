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
