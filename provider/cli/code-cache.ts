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
 * against the source's length, the V8 version and its flags, and refuses (compiling afresh) when they differ;
 * the build and this loader share this one function so that the text a cache is made from is the text it meets.
 */
export function compileCommonJs(file: string, source: string, cachedData?: Buffer): import('node:vm').Script {
  return new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
  });
}

/** `require(url)`, from its code cache when there is one (a cache made by another node is refused, and compiled as require would). */
export function requireCached(url: URL): unknown {
  const file = (require('node:url') as typeof import('node:url')).fileURLToPath(url);
  let cachedData: Buffer;
  try {
    cachedData = fs.readFileSync(cacheFileOf(file));
  } catch {
    return createRequire(file)(file);
  }
  const script = compileCommonJs(file, fs.readFileSync(file, 'utf8'), cachedData);
  const module = { exports: {} as unknown };
  (script.runInThisContext() as (...args: unknown[]) => void)(
    module.exports,
    createRequire(file),
    module,
    file,
    path.dirname(file),
  );
  return module.exports;
}
