#!/usr/bin/env node
/**
 * The `hoststore` command's entry. Terraform runs `hoststore handle KIND OP` once per resource, so that
 * call goes straight to its handler; everything else loads the command line parser (./cli/program.ts).
 */
import { reportError } from './cli/report-error.js';

export type { GlobalOptions } from './cli/options.js';

// Output is only ever a report: when whoever reads it is gone (Terraform killed mid-provisioner, a closed
// pipe), writing fails with EPIPE, and that must not kill the handler halfway through a change on the host.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

async function main(argv: string[]): Promise<number> {
  // The provisioners' exact form only; `handle --help` and mistakes go through the parser, which explains them.
  if (argv.length === 3 && argv[0] === 'handle' && !argv[1].startsWith('-') && !argv[2].startsWith('-')) {
    return (await import('./commands/handle.js')).handle(argv.slice(1), process.env.HOSTSTORE_SPEC);
  }
  return (await import('./cli/program.js')).run(argv);
}

const argv = process.argv.slice(2);
main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const code = reportError(error);
    // With --detailed-exitcode, 2 means "changes", so every error is 1 (as with terraform plan).
    // Only for the commands that take it: elsewhere the option is a usage error, and that is 2.
    const detailed = argv.includes('--detailed-exitcode') && (argv.includes('plan') || argv.includes('diff'));
    process.exitCode = detailed ? 1 : code;
  },
);
