/** `hoststore dashboard`: a read-only web page of the storage, its history and the pending plan. */
import { Command, Option } from 'commander';
import { action } from './action.js';
import { examples, parallelismOption } from './options.js';

export function dashboardCommand(): Command {
  return new Command('dashboard')
    .description('a read-only web page: capacity, storage, history, backups and the pending plan (JSON API, /metrics)')
    .addOption(
      new Option(
        '--listen <host:port>',
        'where to listen: 127.0.0.1:7780, [::1]:7780, localhost:7780; port 0 picks a free one; any non-loopback address needs a token',
      ).default('127.0.0.1:7780'),
    )
    .addOption(
      new Option(
        '--root <dir>',
        "show this root of this machine (default: the app's roots, else $HOSTSTORE_ROOT or the default root)",
      ),
    )
    .addOption(new Option('--app <dir>', 'show the hosts and roots of this synth output, and its pending plan'))
    .addOption(
      new Option(
        '--token-file <file>',
        'the token requests must carry (root-owned, mode 0600); or HOSTSTORE_DASHBOARD_TOKEN',
      ),
    )
    .addOption(parallelismOption())
    .addHelpText(
      'after',
      examples(
        'hoststore dashboard',
        'hoststore dashboard --app cdktf.out',
        'hoststore dashboard --listen 0.0.0.0:7780 --token-file /etc/hoststore/dashboard.token',
      ),
    )
    .action(
      action(async (flags: DashboardFlags, command: Command) => {
        const root = command.optsWithGlobals<{ root?: string }>().root;
        return (await import('../commands/dashboard.js')).dashboard({ ...flags, root });
      }),
    );
}

export interface DashboardFlags {
  readonly listen: string;
  readonly root?: string;
  readonly app?: string;
  readonly tokenFile?: string;
  readonly parallelism?: string;
}
