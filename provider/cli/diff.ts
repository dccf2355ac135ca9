/** `hoststore diff`: what a change to the code does, from two synth outputs, without a host. */
import { Command, Option } from 'commander';
import { action } from './action.js';
import { engineOptions, type EngineFlags } from './engine-options.js';
import { appOption, detailedExitcodeOption, examples, formatOption, stackOption } from './options.js';

export function diffCommand(): Command {
  return new Command('diff')
    .description('what a change to the code does, from two synth outputs; no host needed')
    .addOption(new Option('--base <dir>', 'the synth output before the change').makeOptionMandatory())
    .addOption(appOption())
    .addOption(stackOption())
    .addOption(formatOption())
    .addOption(detailedExitcodeOption())
    .addHelpText(
      'after',
      examples(
        'hoststore diff --base main.out --app cdktf.out',
        'hoststore diff --base main.out --format markdown --detailed-exitcode',
      ),
    )
    .action(action(async (flags: EngineFlags) => (await import('../commands/plan.js')).diff(engineOptions(flags))));
}
