/**
 * The `hoststore` command line: every command from its own module, each taking only its own options,
 * with help, --version, suggestions for typos and completion from commander. Every usage error becomes
 * one line naming the command and what it takes (a UsageError, exit 2).
 */
import { Command, CommanderError, Option } from 'commander';
import { closestName } from '../../src/known-props.js';
import { UsageError } from '../errors.js';
import { setActor } from '../journal/actor.js';
import type { Actor } from '../journal/event.js';
import { disableColour } from '../output/colour.js';
import { packageVersion } from '../package-version.js';
import { exitStatus } from './action.js';
import { applyCommand } from './apply.js';
import { backupCommand } from './backup.js';
import { completionCommand } from './completion.js';
import { dashboardCommand } from './dashboard.js';
import { deleteCommand } from './delete.js';
import { destroyCommand } from './destroy.js';
import { diffCommand } from './diff.js';
import { handleCommand } from './handle.js';
import { historyCommand } from './history.js';
import { remoteCommand } from './remote.js';
import { importCommand } from './import.js';
import { leaseCommand, leaseListCommand } from './lease.js';
import { listCommand } from './list.js';
import { planCommand } from './plan.js';
import { poolCommand } from './pool.js';
import { snapshotCommand } from './snapshot.js';
import { statusCommand } from './status.js';
import { upCommand } from './up.js';

const EXIT_CODES = `
Exit codes: 0 ok, 1 failed, 2 bad usage or spec (plan/diff --detailed-exitcode: changes), 3 refused (would
lose data or break a lease; a root others can change), 4 root locked.`;

/** Help (and --version) was printed: exit 0, nothing else to say. */
class HelpShown extends Error {}

export function makeProgram(): Command {
  const program = new Command('hoststore')
    .description(
      'host storage as code for CDK for Terraform: volumes, disks, mounts, leases and snapshots on this host',
    )
    .usage('<command> [options]')
    .version(packageVersion(), '-v, --version', 'the version of hoststore')
    .addOption(new Option('--no-color', 'no colours (also NO_COLOR=1; colours are only ever used on a terminal)'))
    // Also before the command (`hoststore --root DIR list`), as kubectl and docker take theirs; only for a command that takes it (checked below).
    .addOption(new Option('--root <dir>', 'the hoststore root, for the commands that take one'))
    .addOption(new Option('--project <name>', 'pick a project, for the commands that take it'))
    .addOption(new Option('--json', 'machine-readable output, for the commands that give it'))
    .addHelpText('after', EXIT_CODES);
  for (const command of [
    listCommand(),
    statusCommand(),
    leaseListCommand(),
    historyCommand(),
    leaseCommand(),
    deleteCommand(),
    snapshotCommand(),
    backupCommand(),
    importCommand(),
    upCommand(),
    poolCommand(),
    planCommand(),
    applyCommand(),
    diffCommand(),
    destroyCommand(),
    handleCommand(),
    remoteCommand(),
    dashboardCommand(),
    completionCommand(program),
  ])
    program.addCommand(command);
  for (const command of everyCommand(program)) {
    command
      .showSuggestionAfterError(true)
      .configureOutput({
        // The error is reported as one line by the caller; help after a usage error (a group without its command) too.
        outputError: () => undefined,
        writeErr: () => undefined,
      })
      .exitOverride((error) => {
        throw usageError(command, error);
      });
  }
  program.hook('preAction', (_program, actionCommand) => {
    // What the journal says made each change: set once, before the command runs.
    setActor(actorOf(commandPath(actionCommand)));
    if (actionCommand.optsWithGlobals<{ color?: boolean }>().color === false) disableColour();
    // The program takes --root, --project and --json wherever they stand; a command that has no use for one refuses it.
    for (const key of ['root', 'project', 'json']) {
      if (program.getOptionValueSource(key) !== 'cli' || actionCommand.options.some((o) => o.attributeName() === key))
        continue;
      const flag = `--${key}`;
      throw new UsageError(
        `unknown option '${flag}' for ${commandPath(actionCommand).replace(/^hoststore /, '')}; ${commandPath(actionCommand).replace(/^hoststore /, '')} takes ${[...actionCommand.options.map((o) => o.flags), '-h, --help'].join(', ')}`,
      );
    }
  });
  return program;
}

/** Who a command acts for: Terraform's handler calls, the engine's runs, cron's run-due, else a person at the CLI. */
export function actorOf(path: string): Actor {
  const words = path.split(' ').slice(1);
  if (words[0] === 'handle' || words[0] === 'remote') return 'terraform';
  if (['apply', 'up', 'destroy'].includes(words[0])) return 'engine';
  if (words[0] === 'snapshot' && words[1] === 'run-due') return 'cron';
  return 'cli';
}

function everyCommand(command: Command): Command[] {
  return [command, ...command.commands.flatMap(everyCommand)];
}

/** Commander's error as one line: `unknown option '--format' for list; list takes --root <dir>, --json, -h, --help`. */
function usageError(command: Command, error: CommanderError): Error {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return new HelpShown();
  const where = commandPath(command);
  const name = where.replace(/^hoststore ?/, '');
  // `hoststore help [COMMAND]` asked for help (commander exits 0 for it): shown, as with --help.
  if (error.code === 'commander.help' && error.exitCode === 0) return new HelpShown();
  // Help printed because a command group was called without its subcommand (`hoststore snapshot`, `hoststore
  // --no-color`), or `hoststore help` was given a command that does not exist (`hoststore help lst`).
  if (error.code === 'commander.help') {
    const commands = command.commands.map((c) => c.name());
    const [first, asked] = command.args;
    if (!name && first === 'help' && asked !== undefined) {
      const close = closestName(asked, commands);
      return new UsageError(
        `unknown command '${asked}'${close ? ` (did you mean ${close}?)` : ''}; hoststore commands: ${commands.join(', ')}`,
      );
    }
    return new UsageError(
      `${name ? `${name} needs a command` : 'a command is needed'}: ${commands.join(', ')} (see ${where} --help)`,
    );
  }
  const [first, ...rest] = error.message
    .replace(/^error: /, '')
    .replace(/\.$/, '')
    .split('\n');
  // `hoststore --root DIR list`: the option belongs to a command, so it goes after it.
  const flag = /^error: unknown option '([^']+)'/.exec(error.message)?.[1];
  const takers =
    flag && !name
      ? command.commands.filter((c) => c.options.some((o) => o.long === flag || o.short === flag)).map((c) => c.name())
      : [];
  // The example names the command typed after it when that one takes the option.
  const typed = takers.find((t) => process.argv.slice(2).includes(t)) ?? takers[0];
  if (takers.length > 0)
    return new UsageError(
      `${flag} goes after the command it is for (hoststore ${typed} ${flag} ...); it is an option of ${takers.join(', ')}`,
    );
  const suggestion = rest.join(' ').replace(/^\((Did you mean .*)\)$/, (_, s: string) => s.replace('Did', 'did'));
  const saysFor = [
    'commander.unknownOption',
    'commander.unknownCommand',
    'commander.missingArgument',
    'commander.missingMandatoryOptionValue',
  ].includes(error.code);
  const what =
    !name || first.includes(`'${command.name()}'`) ? first : saysFor ? `${first} for ${name}` : `${name}: ${first}`;
  const takes =
    error.code === 'commander.unknownCommand'
      ? name
        ? `${name} commands: ${command.commands.map((c) => c.name()).join(', ')}`
        : `run ${where} --help`
      : error.code === 'commander.unknownOption'
        ? `${name || where} takes ${[...command.options.map((o) => o.flags), '-h, --help'].join(', ')}`
        : `usage: ${where} ${command.usage()}`;
  return new UsageError(`${what}${suggestion ? ` (${suggestion})` : ''}; ${takes}`);
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Runs the command line `argv` (without node and the script); resolves to the exit status. */
export async function run(argv: string[]): Promise<number> {
  const program = makeProgram();
  if (argv.length === 0) {
    // Like a usage error: the help goes to stderr, so a script that forgot its command reads nothing on stdout.
    process.stderr.write(program.helpInformation());
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof HelpShown) return 0;
    throw error;
  }
  return exitStatus();
}
