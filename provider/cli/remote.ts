/** `hoststore remote`: what a storage host runs for each request sent over ssh (see ../cli.ts for its fast path). */
import { Command } from 'commander';
import { action } from './action.js';

export function remoteCommand(): Command {
  return new Command('remote')
    .description(
      'on a storage host: serve one request read from stdin (JSON), as hoststore sends it over ssh; not run by hand',
    )
    .action(action(async () => (await import('../remote/serve.js')).serveRemote()));
}
