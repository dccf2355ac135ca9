/** `hoststore list`: every storage on the root. */
import { Command } from 'commander';
import { action } from './action.js';
import {
  appRootsOption,
  examples,
  hostOption,
  jsonOption,
  parallelismOption,
  readGlobalsOf,
  rootOption,
} from './options.js';

export function listCommand(): Command {
  return new Command('list')
    .description('every storage on the root: size, allocation, state, mounts and lease')
    .addOption(rootOption())
    .addOption(appRootsOption())
    .addOption(jsonOption())
    .addOption(hostOption())
    .addOption(parallelismOption())
    .addHelpText('after', examples('hoststore list --root /srv/hoststore', "hoststore list --json | jq -r '.[].name'"))
    .action(
      action(async (_options: unknown, command: Command) => {
        const options = await readGlobalsOf(command);
        if (options.hosts) return (await import('../commands/read-hosts.js')).readHosts('list', options);
        return (await import('../commands/list.js')).list(options);
      }),
    );
}
