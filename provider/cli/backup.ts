/** `hoststore backup push | list | restore | status | verify`. */
import { Command, Option } from 'commander';
import type { BackupOptions } from '../commands/backup.js';
import { action } from './action.js';
import { examples, globalsOf, jsonOption, projectOption, rootOption } from './options.js';

const run = async (args: string[], options: BackupOptions) =>
  (await import('../commands/backup.js')).backup(args, options);

const repositoryOption = () =>
  new Option(
    '--repository <name-or-url>',
    'a BackupRepository recorded on this host (NAME, or PROJECT/NAME), or a restic repository URL with --password-file',
  );
const passwordFileOption = () =>
  new Option('--password-file <file>', "with --repository URL: the repository's password (root-owned, mode 0600)");
const environmentFileOption = () =>
  new Option(
    '--environment-file <file>',
    'with --repository URL: KEY=value credentials restic reads (s3: and the like)',
  );

interface RepositoryFlagValues {
  repository?: string;
  passwordFile?: string;
  environmentFile?: string;
}

const repositoryFlags = (o: RepositoryFlagValues) => ({
  repository: o.repository,
  passwordFile: o.passwordFile,
  environmentFile: o.environmentFile,
});

export function backupCommand(): Command {
  const backup = new Command('backup').description(
    'off-host backups with restic: push snapshots, list and restore backups, sync status, repository check',
  );
  backup.addCommand(
    new Command('push')
      .description("send the storage's newest snapshot to its repository now (taking one if there is none)")
      .argument('<name>', 'the storage (volume or disk) name')
      .addOption(rootOption())
      .addOption(projectOption())
      .addOption(repositoryOption())
      .addOption(jsonOption())
      .addHelpText('after', examples('hoststore backup push db', 'hoststore backup push pg --repository offsite'))
      .action(
        action(async (name: string, options: RepositoryFlagValues, command: Command) =>
          run(['push', name], { ...globalsOf(command), ...repositoryFlags(options) }),
        ),
      ),
  );
  backup.addCommand(
    new Command('list')
      .description("the repository's backups: id, host, project, storage, time, size, data added")
      .argument('[name]', 'only the backups of this storage')
      .addOption(rootOption())
      .addOption(projectOption())
      .addOption(repositoryOption())
      .addOption(passwordFileOption())
      .addOption(environmentFileOption())
      .addOption(jsonOption())
      .addHelpText(
        'after',
        examples(
          'hoststore backup list',
          'hoststore backup list db --repository offsite --json',
          'hoststore backup list --repository sftp:backup@backup-1:/srv/hoststore --password-file /etc/hoststore/offsite.pass',
        ),
      )
      .action(
        action(async (name: string | undefined, options: RepositoryFlagValues, command: Command) =>
          run(['list', ...(name === undefined ? [] : [name])], { ...globalsOf(command), ...repositoryFlags(options) }),
        ),
      ),
  );
  backup.addCommand(
    new Command('restore')
      .description('a new storage from a backup (on any host that has the repository password)')
      .argument('<id>', 'the backup id, as backup list shows it')
      .requiredOption('--to <new-name>', 'the new storage name')
      .addOption(rootOption())
      .addOption(repositoryOption())
      .addOption(passwordFileOption())
      .addOption(environmentFileOption())
      .addOption(jsonOption())
      .addHelpText('after', examples('hoststore backup restore 1a2b3c4d --to db --repository offsite'))
      .action(
        action(async (id: string, options: RepositoryFlagValues & { to: string }, command: Command) =>
          run(['restore', id], { ...globalsOf(command), ...repositoryFlags(options), to: options.to }),
        ),
      ),
  );
  backup.addCommand(
    new Command('status')
      .description(
        'per replicated storage: last snapshot, last pushed, lag, bytes sent, state (in-sync, behind, failing; stopped: its policy no longer pushes it)',
      )
      .addOption(rootOption())
      .addOption(projectOption())
      .addOption(jsonOption())
      .addHelpText('after', examples('hoststore backup status', 'hoststore backup status --json'))
      .action(action(async (_options: unknown, command: Command) => run(['status'], globalsOf(command)))),
  );
  backup.addCommand(
    new Command('verify')
      .description("the repository's own integrity check (restic check)")
      .addOption(rootOption())
      .addOption(repositoryOption())
      .addOption(passwordFileOption())
      .addOption(environmentFileOption())
      .addOption(new Option('--read-data', 'also read and hash every pack (all the data: slow, and downloads it all)'))
      .addOption(jsonOption())
      .addHelpText(
        'after',
        examples('hoststore backup verify', 'hoststore backup verify --repository offsite --read-data'),
      )
      .action(
        action(async (options: RepositoryFlagValues & { readData?: boolean }, command: Command) =>
          run(['verify'], { ...globalsOf(command), ...repositoryFlags(options), readData: options.readData ?? false }),
        ),
      ),
  );
  return backup;
}
