/**
 * What only CommonJS knows about this module, for the ESM and CommonJS builds of `src/` alike: a
 * `require` that resolves packages as this installed package sees them (the app's cdktf or cdktn, a peer
 * dependency), and the package's own directory. A `.cts` file always compiles to CommonJS, so this one
 * file serves both builds without `import.meta`.
 */
import * as path from 'node:path';

/** `require` bound to this file's location (jest's, under jest, so modules match the test's). */
export const moduleRequire: NodeJS.Require = require;

/** This package's directory: `__dirname` is <package>/src under ts-jest, <package>/dist/src or <package>/dist/cjs/src when built. */
export function packageRoot(): string {
  const up =
    path.basename(path.dirname(__dirname)) === 'cjs' ? 3 : path.basename(path.dirname(__dirname)) === 'dist' ? 2 : 1;
  return path.resolve(__dirname, ...Array<string>(up).fill('..'));
}
