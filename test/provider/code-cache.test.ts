/**
 * The handler's code cache (provider/cli/code-cache.ts): a bundle runs from the cache made for it, and any
 * other bundle (changed after the build, even to the same length, or with no cache) runs as require() runs it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cacheFileContents, cacheFileOf, compileCommonJs, requireCached } from '../../provider/cli/code-cache.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-code-cache-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const bundle = (word: string) =>
  `module.exports = { word: ${JSON.stringify(word)}, file: __filename, dir: __dirname, self: this === exports };`;

/** A bundle that says which text it was, and its cache as the build makes it. */
function build(file: string, word: string): void {
  const source = bundle(word);
  fs.writeFileSync(file, source);
  fs.writeFileSync(cacheFileOf(file), cacheFileContents(source, compileCommonJs(file, source).createCachedData()));
}

test('a bundle runs from its cache with the names require gives it', () => {
  const file = path.join(dir, 'a.cjs');
  build(file, 'first');
  expect(requireCached(pathToFileURL(file))).toEqual({ word: 'first', file, dir, self: true });
});

test('a bundle changed after its cache was made (same length) runs as changed, not as cached', () => {
  // GIVEN a cache made for one text, then the bundle rewritten to another of the same length (never compiled
  // here: V8 would find it among the scripts this process compiled and not look at the cache)
  const file = path.join(dir, 'b.cjs');
  build(file, 'first');
  fs.writeFileSync(file, bundle('other'));
  // THEN the new text runs (V8 alone would take the old cache: it checks the length only)
  expect(requireCached(pathToFileURL(file))).toMatchObject({ word: 'other' });
});

test('a bundle without a cache is required', () => {
  const file = path.join(dir, 'c.cjs');
  build(file, 'plain');
  fs.rmSync(cacheFileOf(file));
  expect(requireCached(pathToFileURL(file))).toEqual({ word: 'plain', file, dir, self: true });
});
