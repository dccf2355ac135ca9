/** `hoststore plan`: what applying the synth output would do to the host and its data. */
import { Command, Option } from 'commander';
import { action } from './action.js';
import { engineOptions, type EngineFlags } from './engine-options.js';
import {
  appOption,
  detailedExitcodeOption,
  examples,
  formatOption,
  stackOption,
  hostOption,
  parallelismOption,
} from './options.js';

export function planCommand(): Command {
  return new Command('plan')
    .description('what applying the synth output would do to the host and its data')
    .addOption(appOption())
    .addOption(stackOption())
    .addOption(formatOption())
    .addOption(detailedExitcodeOption())
    .addOption(hostOption())
    .addOption(parallelismOption())
    .addOption(new Option('--out <file>', 'save the plan, to apply exactly it later (hoststore apply FILE)'))
    .addHelpText(
      'after',
      examples(
        'cdktf synth && hoststore plan',
        'hoststore plan --format markdown > plan.md',
        'hoststore plan --out tfplan.hoststore && hoststore apply tfplan.hoststore',
      ),
    )
    .action(action(async (flags: EngineFlags) => (await import('../commands/plan.js')).plan(engineOptions(flags))));
}
