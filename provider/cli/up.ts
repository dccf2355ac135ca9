/** `hoststore up`: after a reboot, finish interrupted work and re-attach and re-mount everything. */
import { Command } from 'commander';
import { action } from './action.js';
import { examples, globalsOf, rootOption } from './options.js';

export function upCommand(): Command {
  return new Command('up')
    .description('finish interrupted restores and grows, then re-attach and re-mount everything (after a reboot)')
    .addOption(rootOption())
    .addHelpText('after', examples('hoststore up --root /srv/hoststore'))
    .action(
      action(async (_options: unknown, command: Command) => (await import('../commands/up.js')).up(globalsOf(command))),
    );
}
