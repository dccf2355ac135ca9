/** `hoststore snapshot create | list | restore | delete | run-due | prune`. */
import { Command, Option } from 'commander';
import type { SnapshotOptions } from '../commands/snapshot.js';
import type { SnapshotProgress } from '../snapshots/snapshots.js';
import { progress, type Progress } from '../output/progress.js';
import { action } from './action.js';
import {
  appRootsOption,
  examples,
  forceOption,
  globalsOf,
  hostOption,
  jsonOption,
  parallelismOption,
  projectOption,
  readGlobalsOf,
  rootOption,
  yesOption,
} from './options.js';

const run = async (args: string[], options: Omit<SnapshotOptions, 'inPlace' | 'dryRun'> & Partial<SnapshotOptions>) =>
  (await import('../commands/snapshot.js')).snapshot(args, { inPlace: false, dryRun: false, ...options });

export function snapshotCommand(): Command {
  const snapshot = new Command('snapshot').description(
    'point-in-time, read-only copies of a storage: take, list, restore, delete, prune',
  );
  snapshot.addCommand(
    new Command('create')
      .description(
        'take a snapshot now; a mounted filesystem is frozen for the copy, at most --max-freeze-seconds, else it is refused',
      )
      .argument('<name>', 'the storage (volume or disk) name')
      .addOption(rootOption())
      .addOption(projectOption())
      .addOption(
        new Option(
          '--max-freeze-seconds <n>',
          'the longest the mounted filesystem may stay frozen (0.1 to 3600; default 5)',
        ),
      )
      .addOption(jsonOption())
      .addHelpText(
        'after',
        examples('hoststore snapshot create db', 'hoststore snapshot create pg --max-freeze-seconds 30 --json'),
      )
      .action(
        action(async (name: string, options: { maxFreezeSeconds?: string }, command: Command) => {
          const globals = globalsOf(command);
          // With --json, stdout carries only the JSON.
          const shown = progress(globals.json ? process.stderr : process.stdout);
          try {
            return await run(['create', name], {
              ...globals,
              maxFreezeSeconds: options.maxFreezeSeconds,
              log: (line) => shown.log(line),
              onProgress: snapshotProgress(shown, name),
            });
          } finally {
            shown.finish();
          }
        }),
      ),
  );
  snapshot.addCommand(
    new Command('list')
      .description('snapshots (of one storage, or all) and their last verification')
      .argument('[name]', 'only the snapshots of this storage')
      .addOption(rootOption())
      .addOption(appRootsOption())
      .addOption(jsonOption())
      .addOption(hostOption())
      .addOption(parallelismOption())
      .addOption(
        new Option(
          '--verify',
          'hash every snapshot again (one whose file changed since it was verified is hashed anyway)',
        ),
      )
      .addHelpText(
        'after',
        examples('hoststore snapshot list', 'hoststore snapshot list db --verify', 'hoststore snapshot list db --json'),
      )
      .action(
        action(async (name: string | undefined, options: { verify?: boolean }, command: Command) => {
          const globals = await readGlobalsOf(command);
          if (globals.hosts)
            return (await import('../commands/read-hosts.js')).readHosts('snapshot-list', globals, {
              name,
              verify: options.verify ?? false,
            });
          return run(['list', ...(name === undefined ? [] : [name])], { ...globals, verify: options.verify ?? false });
        }),
      ),
  );
  snapshot.addCommand(
    new Command('restore')
      .description(
        'a new storage from a snapshot (--to), or its content replaced in place (--in-place, after a safety snapshot)',
      )
      .argument('<id>', 'the snapshot id, as snapshot list shows it')
      .addOption(rootOption())
      .addOption(new Option('--to <new-name>', 'restore into a new storage of this name').conflicts('inPlace'))
      .addOption(
        new Option(
          '--in-place',
          "replace the storage's content (it is unmounted, a safety snapshot is taken, then remounted)",
        ),
      )
      .addOption(yesOption('replacing the content in place'))
      .addHelpText(
        'after',
        examples(
          'hoststore snapshot restore db-20260101T040000Z --to db-copy',
          'hoststore snapshot restore db-20260101T040000Z --in-place --yes',
        ),
      )
      .action(
        action(async (id: string, options: { to?: string; inPlace?: boolean }, command: Command) =>
          run(['restore', id], { ...globalsOf(command), to: options.to, inPlace: options.inPlace ?? false }),
        ),
      ),
  );
  snapshot.addCommand(
    new Command('delete')
      .description('delete a snapshot')
      .argument('<id>', 'the snapshot id')
      .addOption(rootOption())
      .addOption(forceOption("also the last copy of a storage deleted by its removal policy 'snapshot'"))
      .addHelpText('after', examples('hoststore snapshot delete db-20260101T040000Z'))
      .action(
        action(async (id: string, _options: unknown, command: Command) => run(['delete', id], globalsOf(command))),
      ),
  );
  snapshot.addCommand(
    new Command('run-due')
      .description('take the snapshots whose schedule fired (cron runs it every minute), then prune')
      .addOption(rootOption())
      .addOption(jsonOption())
      .action(action(async (_options: unknown, command: Command) => run(['run-due'], globalsOf(command)))),
  );
  snapshot.addCommand(
    new Command('prune')
      .description("delete what each policy's retention lets go")
      .addOption(rootOption())
      .addOption(new Option('--dry-run', 'only say what would be deleted'))
      .addHelpText('after', examples('hoststore snapshot prune --dry-run'))
      .action(
        action(async (options: { dryRun?: boolean }, command: Command) =>
          run(['prune'], { ...globalsOf(command), dryRun: options.dryRun ?? false }),
        ),
      ),
  );
  return snapshot;
}

/** Shows a snapshot's copy and checksum as they go: bytes done of the total, when known. */
function snapshotProgress(shown: Progress, name: string): (p: SnapshotProgress) => void {
  let step: SnapshotProgress['step'] | undefined;
  return (p) => {
    if (p.step !== step) {
      step = p.step;
      shown.start(`snapshot of ${name}: ${p.step === 'copy' ? 'copying' : 'checking'}`);
    }
    if (p.totalBytes !== undefined && p.totalBytes > 0)
      shown.update(
        `${gib(p.doneBytes)} of ${gib(p.totalBytes)} (${Math.min(100, Math.floor((100 * p.doneBytes) / p.totalBytes))}%)`,
      );
    else if (p.doneBytes > 0) shown.update(gib(p.doneBytes));
  };
}

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
