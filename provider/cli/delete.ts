/** `hoststore delete NAME`: the one way to delete a storage's data by hand. */
import { Command } from 'commander';
import { action } from './action.js';
import { examples, forceOption, globalsOf, projectOption, rootOption, yesOption } from './options.js';

export function deleteCommand(): Command {
  return new Command('delete')
    .description('delete a storage and its data (refused while mounted or leased unless --force)')
    .argument('<name>', 'the storage (volume or disk) name')
    .addOption(rootOption())
    .addOption(projectOption())
    .addOption(forceOption('unmount it and break its lease first'))
    .addOption(yesOption('deleting its data'))
    .addHelpText(
      'after',
      examples('hoststore delete old-db --yes', 'hoststore delete files --project shop --force --yes'),
    )
    .action(
      action(async (name: string, _options: unknown, command: Command) =>
        (await import('../commands/delete.js')).deleteStorage(name, globalsOf(command)),
      ),
    );
}
