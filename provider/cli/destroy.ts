/** `hoststore destroy`: remove what the synth output declares, each by its removal policy. */
import { Command } from 'commander';
import { action } from './action.js';
import { engineOptions, type EngineFlags } from './engine-options.js';
import {
  allowDataLossOption,
  appOption,
  autoApproveOption,
  examples,
  stackOption,
  hostOption,
  parallelismOption,
} from './options.js';

export function destroyCommand(): Command {
  return new Command('destroy')
    .description('remove what the synth output declares, each by its removal policy (retain keeps the data)')
    .addOption(appOption())
    .addOption(stackOption())
    .addOption(autoApproveOption())
    .addOption(allowDataLossOption())
    .addOption(hostOption())
    .addOption(parallelismOption())
    .addHelpText('after', examples('hoststore destroy', 'hoststore destroy --stack web --auto-approve'))
    .action(action(async (flags: EngineFlags) => (await import('../commands/plan.js')).destroy(engineOptions(flags))));
}
