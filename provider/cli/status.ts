/** `hoststore status NAME`: one storage in detail. */
import { Command } from 'commander';
import { action } from './action.js';
import { appRootsOption, examples, jsonOption, projectOption, readGlobalsOf, rootOption } from './options.js';

export function statusCommand(): Command {
  return new Command('status')
    .description('one storage in detail: state, path, size, removal policy, lease and mounts')
    .argument('<name>', 'the storage (volume or disk) name')
    .addOption(rootOption())
    .addOption(appRootsOption())
    .addOption(projectOption())
    .addOption(jsonOption())
    .addHelpText('after', examples('hoststore status db', 'hoststore status db --project shop --json'))
    .action(
      action(async (name: string, _options: unknown, command: Command) => {
        const options = await readGlobalsOf(command);
        return (await import('../commands/list.js')).status(name, options);
      }),
    );
}
