/**
 * `hoststore handle KIND OP` as the provisioners run it, and `hoststore remote` as a storage host runs it for
 * each forwarded call, without the command line parser: what a handler process loads (bundled on its own,
 * with only the kind's handler loaded on demand), see ../cli.ts.
 */
import { handle, parseSpecJson } from '../commands/handle.js';
import { loadHandler } from '../handlers/by-kind.js';
import { exitCodeOf } from './report-error.js';
import { setActor } from '../journal/actor.js';
import type { KindName } from '../../src/kinds.js';

export function main(argv: string[]): Promise<number> {
  // Terraform's provisioners run this (a forwarded engine request says so itself: ../remote/serve-engine.ts).
  setActor('terraform');
  if (argv[0] === 'remote') return exitCodeOf(argv, async () => (await import('../remote/serve.js')).serveRemote());
  return exitCodeOf(argv, () => handle(argv.slice(1), process.env));
}

/**
 * What the build runs before it makes this bundle's code cache (scripts/bundle.mjs): each example loads its
 * kind's handler and goes through the spec's parse and validation as a handler call's does, so the cache
 * holds that code compiled (V8 caches the functions that have run), which every handler process would
 * otherwise compile again. Validation is pure: nothing on the host is read or touched. An example that no
 * longer validates fails the build, rather than quietly warming less.
 */
export async function warmUp(examples: Partial<Record<KindName, object>>): Promise<void> {
  for (const [kind, example] of Object.entries(examples)) {
    const handler = await loadHandler(kind as KindName);
    try {
      handler.validate(parseSpecJson(JSON.stringify(example)));
    } catch (error) {
      throw new Error(
        `the warm-up's example ${kind} spec (scripts/bundle.mjs) no longer validates: ${(error as Error).message}; make it a valid spec again`,
        { cause: error },
      );
    }
  }
}
