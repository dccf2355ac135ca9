/**
 * The options commands share, made once so each command declares only those it takes, and the values
 * every command reads from them (the root checked by the same rule as a spec's root).
 */
import { Option, type Command } from 'commander';
import { DEFAULT_ROOT, rootRule } from '../../src/schema.js';
import { SpecError, UsageError } from '../errors.js';
import type { HostRoots } from '../commands/app-roots.js';

export interface GlobalOptions {
  readonly root: string;
  readonly json: boolean;
  readonly yes: boolean;
  readonly force: boolean;
  readonly project?: string;
  /** For read commands inside a cdktf app without --root: every root its synth output declares (`root` is the first). */
  readonly roots?: readonly string[];
  /**
   * For read commands inside a cdktf app that reaches remote hosts (or with --host): each host to read and
   * its roots (`roots` above are then this machine's part); see ../commands/read-hosts.ts.
   */
  readonly hosts?: readonly HostRoots[];
  /** `--parallelism`: how many hosts to read at once. */
  readonly parallelism?: number;
}

export const rootOption = () =>
  new Option('--root <dir>', `the hoststore root (default: $HOSTSTORE_ROOT or ${DEFAULT_ROOT})`);
export const projectOption = () =>
  new Option('--project <name>', 'pick a project when a storage name exists in several');
export const jsonOption = () => new Option('--json', 'machine-readable output on stdout');
export const yesOption = (what: string) => new Option('-y, --yes', `do not ask before ${what}`);
export const forceOption = (what: string) => new Option('--force', what);
export const appOption = () => new Option('--app <dir>', 'the synth output to read').default('cdktf.out');
export const stackOption = () => new Option('--stack <name>', 'only this stack of the synth output');
export const formatOption = () =>
  new Option('--format <format>', 'how to print the plan').choices(['text', 'markdown', 'json']).default('text');
export const detailedExitcodeOption = () =>
  new Option('--detailed-exitcode', 'exit 2 when there are changes (errors exit 1), like terraform plan');
export const autoApproveOption = () => new Option('--auto-approve', 'do not ask before changing the host');
export const allowDataLossOption = () =>
  new Option(
    '--allow-data-loss <name>',
    'go ahead with a change that loses the data of NAME (repeat for each)',
  ).argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);

/** `--host ADDRESS`, repeatable: only these hosts of the synth output (`local` = this machine). */
export const hostOption = () =>
  new Option(
    '--host <address>',
    "only this host of the synth output ('local' = this machine; repeat for each); default: every host it declares",
  ).argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
export const parallelismOption = () => new Option('--parallelism <n>', 'how many hosts to work on at once (default 4)');

/** The options of `command` as the library functions take them. */
export function globalsOf(command: Command): GlobalOptions {
  // With the program's: --root, --project and --json may stand before the command.
  const o = command.optsWithGlobals<{
    root?: string;
    json?: boolean;
    yes?: boolean;
    force?: boolean;
    project?: string;
  }>();
  return {
    root: checkedRoot(o.root),
    json: o.json ?? false,
    yes: o.yes ?? false,
    force: o.force ?? false,
    project: o.project,
  };
}

/** The root from --root, $HOSTSTORE_ROOT or the default, held to the rule a spec's `root` obeys. */
export function checkedRoot(flag: string | undefined): string {
  const [root, from] =
    flag !== undefined
      ? [flag, '--root']
      : process.env.HOSTSTORE_ROOT !== undefined
        ? [process.env.HOSTSTORE_ROOT, 'HOSTSTORE_ROOT']
        : [DEFAULT_ROOT, 'the default root'];
  const problem = rootRule(root);
  if (problem) throw new SpecError(`${from} ${JSON.stringify(root)} is not a usable hoststore root: it ${problem}`);
  return root;
}

/** Where a read command run inside a cdktf app finds its roots when no --root is given. */
export const appRootsOption = () =>
  new Option(
    '--app <dir>',
    "in a cdktf app without --root: the synth output whose roots to read (default: cdktf.json's output)",
  );

/**
 * A read command's options: inside a cdktf app (cdktf.json) with neither --root nor HOSTSTORE_ROOT, every
 * root its synth output declares; each root must be readable.
 */
export async function readGlobalsOf(command: Command): Promise<GlobalOptions> {
  const o = command.optsWithGlobals<{ root?: string; app?: string; host?: string[]; parallelism?: string }>();
  const hosts =
    o.root === undefined && process.env.HOSTSTORE_ROOT === undefined
      ? (await import('../commands/app-roots.js')).appHosts(process.cwd(), o.app)
      : undefined;
  if (o.host?.length && !hosts)
    throw new UsageError(
      `--host picks among the hosts a cdktf app's synth output declares: run it in the app's directory (cdktf.json), without --root or HOSTSTORE_ROOT`,
    );
  const { selectHosts, parallelismOf } = await import('../remote/fleet.js');
  const selected = hosts && selectHosts(hosts, o.host);
  const local = selected?.find((h) => !h.connection)?.roots ?? [];
  const remote = selected?.some((h) => h.connection) ?? false;
  const roots = selected && !remote ? local : undefined;
  const globals: GlobalOptions = {
    ...globalsOf(command),
    ...(roots ? { root: roots[0], roots } : {}),
    ...(remote
      ? {
          root: local[0] ?? globalsOf(command).root,
          roots: local,
          hosts: selected,
          parallelism: parallelismOf(o.parallelism),
        }
      : {}),
  };
  for (const root of remote ? local : (roots ?? [globals.root])) await assertReadable(root);
  return globals;
}

/** Reads of a root whose pool is not mounted would show a bare directory (no storage, no snapshots): refused instead. */
export async function assertReadable(root: string): Promise<void> {
  (await import('../host/pool-guard.js')).assertPoolMounted(root);
}

/** Help text after a command's options: examples, one per line. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}
