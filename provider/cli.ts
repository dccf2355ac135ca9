#!/usr/bin/env node
/**
 * The `hoststore` command's entry. Terraform runs `hoststore handle KIND OP` once per resource, so that call
 * loads only the handler's code (./cli/handle-main.ts); everything else loads the command line parser
 * (./cli/program-main.ts). Built, each of the two is a bundle of its own (scripts/bundle.mjs), and this
 * entry loads nothing but the one it needs.
 */
import { requireCached } from './cli/code-cache.js';

export type { GlobalOptions } from './cli/options.js';

// Output is only ever a report: when whoever reads it is gone (Terraform killed mid-provisioner, a closed
// pipe), writing fails with EPIPE, and that must not kill the handler halfway through a change on the host.
// The guard goes on when a stream is first used: making process.stdout on a pipe loads node's net and
// stream modules (~5 ms a process), which a handler that has nothing to say must not pay.
for (const name of ['stdout', 'stderr'] as const) {
  const made = Object.getOwnPropertyDescriptor(process, name)?.get;
  if (!made) continue;
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: true,
    get() {
      const stream = made.call(process) as NodeJS.WriteStream;
      stream.on('error', () => undefined);
      Object.defineProperty(process, name, { configurable: true, enumerable: true, get: () => stream });
      return stream;
    },
  });
}

const argv = process.argv.slice(2);
// The provisioners' exact form only; `handle --help` and mistakes go through the parser, which explains them.
const handlerCall =
  (argv.length === 3 && argv[0] === 'handle' && !argv[1].startsWith('-') && !argv[2].startsWith('-')) ||
  // What a storage host runs for every forwarded handler call: as quick to start as the handler itself.
  (argv.length === 1 && argv[0] === 'remote');
// The handler's bundle is one CommonJS file (scripts/bundle.mjs), run from its code cache: no ES loader
// resolve and per-module compile, no parse, which a process that usually finds nothing to do would mostly pay.
const entry: { main(argv: string[]): Promise<number> } = handlerCall
  ? (requireCached(new URL('./chunks/handle-main.cjs', import.meta.url)) as typeof import('./cli/handle-main.js'))
  : await import('./cli/program-main.js');
process.exitCode = await entry.main(argv);
