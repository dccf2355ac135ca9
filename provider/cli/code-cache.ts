/**
 * Runs a CommonJS bundle from V8's code cache, made for it at build time (scripts/bundle.mjs): a handler
 * process then deserializes its code instead of parsing ~350 KB of JavaScript, which Terraform pays per resource.
 */
import { createRequire } from 'node:module';

// Built-ins by require(): an ES import of node:fs builds its ES facade, which loads the streams.
const require = createRequire(import.meta.url);
const fs: typeof import('node:fs') = require('node:fs');
const path: typeof import('node:path') = require('node:path');
const vm: typeof import('node:vm') = require('node:vm');

/** The cache of `file`, next to it. */
export function cacheFileOf(file: string): string {
  return `${file}.v8cache`;
}

/**
 * `source` as node's CommonJS loader compiles it: one function of the module's five names. V8 checks a cache
 * against the V8 version, its flags and the source's length only (refusing it, and compiling afresh, when
 * they differ); the build and this loader share this one function so that the text a cache is made from is
 * the text it meets.
 */
export function compileCommonJs(file: string, source: string, cachedData?: Buffer): import('node:vm').Script {
  return new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
  });
}

/**
 * The cache file: the SHA-256 of the source it was made from, then V8's data. V8 would take a cache for any
 * source of the same length, so a bundle changed after the build (a hand patch) is checked here and run as
 * require() would run it. node:crypto is loaded by every handler anyway (the lock's and the keys' hashes).
 */
export function cacheFileContents(source: string, data: Buffer): Buffer {
  return Buffer.concat([digestOf(source), data]);
}

function digestOf(source: string): Buffer {
  return (require('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(source).digest();
}

/** `require(url)`, from its code cache when there is one (a cache made by another node is refused, and compiled as require would). */
export function requireCached(url: URL): unknown {
  const file = (require('node:url') as typeof import('node:url')).fileURLToPath(url);
  let cache: Buffer;
  try {
    cache = fs.readFileSync(cacheFileOf(file));
  } catch {
    return createRequire(file)(file);
  }
  const source = fs.readFileSync(file, 'utf8');
  const digest = digestOf(source);
  if (!digest.equals(cache.subarray(0, digest.length))) return createRequire(file)(file);
  return runCommonJs(file, compileCommonJs(file, source, cache.subarray(digest.length)));
}

/** Runs `script` (compileCommonJs's) as node runs a module, and returns its exports. */
export function runCommonJs(file: string, script: import('node:vm').Script): unknown {
  const module = { exports: {} as unknown };
  // Called as node calls a module's function: `this` is its exports.
  (script.runInThisContext() as (...args: unknown[]) => void).call(
    module.exports,
    module.exports,
    createRequire(file),
    module,
    file,
    path.dirname(file),
  );
  return module.exports;
}
