/** `hoststore lease-list` and `hoststore lease break NAME`: who holds each disk, and freeing a stale hold. */
import { Command } from 'commander';
import { action } from './action.js';
import {
  appRootsOption,
  examples,
  forceOption,
  globalsOf,
  hostOption,
  jsonOption,
  parallelismOption,
  readGlobalsOf,
  rootOption,
  yesOption,
} from './options.js';

export function leaseListCommand(): Command {
  return new Command('lease-list')
    .description('disk leases and their holders')
    .addOption(rootOption())
    .addOption(appRootsOption())
    .addOption(jsonOption())
    .addOption(hostOption())
    .addOption(parallelismOption())
    .addHelpText('after', examples('hoststore lease-list', 'hoststore lease-list --json'))
    .action(
      action(async (_options: unknown, command: Command) => {
        const options = await readGlobalsOf(command);
        if (options.hosts) return (await import('../commands/read-hosts.js')).readHosts('lease-list', options);
        return (await import('../commands/lease.js')).leaseList(options);
      }),
    );
}

export function leaseCommand(): Command {
  const lease = new Command('lease').description('disk leases: break one whose holder is gone');
  lease.addCommand(
    new Command('break')
      .description("break a disk's lease whose holder's mount is gone")
      .argument('<name>', 'the disk')
      .addOption(rootOption())
      .addOption(yesOption('breaking the lease'))
      .addOption(forceOption('break a lease whose holder still has it mounted'))
      .addHelpText('after', examples('hoststore lease break pg --yes'))
      .action(
        action(async (name: string, _options: unknown, command: Command) =>
          (await import('../commands/lease.js')).leaseBreak(name, globalsOf(command)),
        ),
      ),
  );
  return lease;
}
