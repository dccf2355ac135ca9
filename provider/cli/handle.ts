/** `hoststore handle KIND OP`: what Terraform's provisioners run, spec in HOSTSTORE_SPEC (see ../cli.ts for its fast path). */
import { Command } from 'commander';
import { action } from './action.js';

export function handleCommand(): Command {
  return new Command('handle')
    .description("the handler Terraform's provisioners run; spec in HOSTSTORE_SPEC (JSON)")
    .argument('<kind>', 'storage, mount, snapshot-policy or project')
    .argument('<op>', 'converge or delete')
    .action(
      action(async (kind: string, op: string) =>
        (await import('../commands/handle.js')).handle([kind, op], process.env),
      ),
    );
}
