/**
 * `hoststore handle KIND OP` as the provisioners run it, and `hoststore remote` as a storage host runs it for
 * each forwarded call, without the command line parser: what a handler process loads (bundled on its own,
 * with only the kind's handler loaded on demand), see ../cli.ts.
 */
import { handle } from '../commands/handle.js';
import { exitCodeOf } from './report-error.js';
import { setActor } from '../journal/actor.js';

export function main(argv: string[]): Promise<number> {
  // Terraform's provisioners run this (a forwarded engine request says so itself: ../remote/serve-engine.ts).
  setActor('terraform');
  if (argv[0] === 'remote') return exitCodeOf(argv, async () => (await import('../remote/serve.js')).serveRemote());
  return exitCodeOf(argv, () => handle(argv.slice(1), process.env));
}
