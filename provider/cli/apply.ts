/** `hoststore apply [FILE]`: apply the synth output's plan, or a saved plan exactly, showing each change as n/m. */
import { Command } from 'commander';
import type { ApplyStep } from '../plan/apply.js';
import { colours } from '../output/colour.js';
import { progress } from '../output/progress.js';
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

export function applyCommand(): Command {
  return new Command('apply')
    .description('apply a plan to the host (a saved FILE exactly, refused if the host changed since)')
    .argument('[file]', 'a plan saved by hoststore plan --out')
    .addOption(appOption())
    .addOption(stackOption())
    .addOption(autoApproveOption())
    .addOption(allowDataLossOption())
    .addOption(hostOption())
    .addOption(parallelismOption())
    .addHelpText(
      'after',
      examples(
        'hoststore apply',
        'hoststore apply --auto-approve --allow-data-loss old-db',
        'hoststore apply tfplan.hoststore',
      ),
    )
    .action(
      action(async (file: string | undefined, flags: EngineFlags) => {
        const shown = progress(process.stdout);
        const c = colours(process.stdout);
        const onStep = (step: ApplyStep) => {
          const at = `[${step.index}/${step.total}]`;
          if (step.ms === undefined) shown.start(`${at} ${step.what}`);
          else shown.done(`${c.green(at)} ${step.what}: done in ${step.ms} ms`);
        };
        try {
          return await (
            await import('../commands/plan.js')
          ).apply(file, { ...engineOptions(flags), log: (line) => shown.log(line), onStep });
        } finally {
          shown.finish();
        }
      }),
    );
}
