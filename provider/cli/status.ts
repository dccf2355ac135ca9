/** `hoststore status NAME`: one storage in detail. */
import { Command } from 'commander';
import { action } from './action.js';
import {
  appRootsOption,
  examples,
  hostOption,
  jsonOption,
  parallelismOption,
  projectOption,
  readGlobalsOf,
  rootOption,
} from './options.js';

export function statusCommand(): Command {
  return new Command('status')
    .description('one storage in detail: state, path, size, removal policy, lease and mounts')
    .argument('<name>', 'the storage (volume or disk) name')
    .addOption(rootOption())
    .addOption(appRootsOption())
    .addOption(projectOption())
    .addOption(jsonOption())
    .addOption(hostOption())
    .addOption(parallelismOption())
    .addHelpText('after', examples('hoststore status db', 'hoststore status db --project shop --json'))
    .action(
      action(async (name: string, _options: unknown, command: Command) => {
        const options = await readGlobalsOf(command);
        if (options.hosts) return (await import('../commands/read-hosts.js')).readHosts('status', options, { name });
        return (await import('../commands/list.js')).status(name, options);
      }),
    );
}
