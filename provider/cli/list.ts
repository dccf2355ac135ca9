/** `hoststore list`: every storage on the root. */
import { Command } from 'commander';
import { action } from './action.js';
import { appRootsOption, examples, jsonOption, readGlobalsOf, rootOption } from './options.js';

export function listCommand(): Command {
  return new Command('list')
    .description('every storage on the root: size, allocation, state, mounts and lease')
    .addOption(rootOption())
    .addOption(appRootsOption())
    .addOption(jsonOption())
    .addHelpText('after', examples('hoststore list --root /srv/hoststore', "hoststore list --json | jq -r '.[].name'"))
    .action(
      action(async (_options: unknown, command: Command) => {
        const options = await readGlobalsOf(command);
        return (await import('../commands/list.js')).list(options);
      }),
    );
}
