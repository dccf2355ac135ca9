/** `hoststore history [NAME]`: what happened to a storage (or to every storage of the root), from the journal. */
import { Command, Option } from 'commander';
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

export function historyCommand(): Command {
  return new Command('history')
    .description('what happened to a storage (or every storage of the root), oldest first: from the journal')
    .argument('[name]', 'the storage (volume, directory or disk) name; default: every storage')
    .addOption(new Option('--since <duration|time>', 'only events since: 30m, 24h, 7d, 2w, or an ISO date or time'))
    .addOption(rootOption())
    .addOption(appRootsOption())
    .addOption(projectOption())
    .addOption(jsonOption())
    .addOption(hostOption())
    .addOption(parallelismOption())
    .addHelpText(
      'after',
      examples(
        'hoststore history db',
        'hoststore history db --since 7d',
        'hoststore history --since 2026-01-02 --json',
      ),
    )
    .action(
      action(async (name: string | undefined, opts: { since?: string }, command: Command) => {
        const commands = await import('../commands/history.js');
        // Bad usage is told before any root is read.
        commands.checkName(name);
        const since = commands.sinceTime(opts.since);
        const options = await readGlobalsOf(command);
        if (options.hosts)
          return (await import('../commands/read-hosts.js')).readHosts('history', options, {
            name,
            since: since?.toISOString(),
          });
        return commands.history(name, since, options);
      }),
    );
}
