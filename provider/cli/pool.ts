/** `hoststore pool create | status`: a root on a loop-backed btrfs pool, for reflink snapshots. */
import { Command, Option } from 'commander';
import { action } from './action.js';
import { examples, globalsOf, jsonOption, rootOption } from './options.js';

export function poolCommand(): Command {
  const pool = new Command('pool').description(
    'a root on a btrfs pool in a sparse file beside it, so snapshots are reflinks',
  );
  pool.addCommand(
    new Command('create')
      .description('make the root a btrfs pool in a sparse file beside it (<root>.pool.img)')
      .addOption(rootOption())
      .addOption(
        new Option(
          '--size-gb <n>',
          'the pool size in GiB (the file is sparse: it takes host space only as data is written)',
        ).makeOptionMandatory(),
      )
      .addOption(jsonOption())
      .addHelpText('after', examples('hoststore pool create --root /srv/hoststore --size-gb 200'))
      .action(
        action(async (options: { sizeGb: string }, command: Command) =>
          (await import('../commands/pool.js')).pool(['create'], { ...globalsOf(command), sizeGb: options.sizeGb }),
        ),
      ),
  );
  pool.addCommand(
    new Command('status')
      .description("a pool's size, allocation, free space and whether snapshots are reflinks")
      .addOption(rootOption())
      .addOption(jsonOption())
      .addHelpText('after', examples('hoststore pool status --root /srv/hoststore --json'))
      .action(
        action(async (_options: unknown, command: Command) =>
          (await import('../commands/pool.js')).pool(['status'], globalsOf(command)),
        ),
      ),
  );
  return pool;
}
