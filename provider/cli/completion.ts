/**
 * `hoststore completion bash|zsh|fish`: a completion script made from the command tree itself, so it
 * completes exactly the commands and options the parser takes. zsh runs the bash function through
 * bashcompinit; fish gets its own `complete` lines.
 */
import { Command, Option } from 'commander';
import { action } from './action.js';
import { examples } from './options.js';

interface Node {
  readonly path: string;
  readonly command: Command;
}

/** Every command under `program`, with its path (`/snapshot/create`; the program itself is ``). */
function walk(command: Command, path = ''): Node[] {
  return [{ path, command }, ...command.commands.flatMap((c) => walk(c, `${path}/${c.name()}`))];
}

const longs = (options: readonly Option[]) => options.filter((o) => !o.hidden && o.long).map((o) => o.long as string);
const optionsOf = (command: Command) => [...longs(command.options), '--help'];
/** Options whose value names a directory or a file; other values (names, numbers) have nothing to complete. */
const DIRECTORY_VALUES = new Set(['--root', '--app', '--base']);
const FILE_VALUES = new Set(['--out', '--token-file']);

function valueOptions(program: Command): Option[] {
  const all = walk(program)
    .flatMap((n) => n.command.options)
    .filter((o) => o.long && (o.required || o.optional));
  return [...new Map(all.map((o) => [o.long as string, o])).values()];
}

export function bashScript(program: Command): string {
  const nodes = walk(program);
  const values = valueOptions(program);
  const cases = nodes.map(({ path, command }) => {
    // Subcommands, or the values a command's first argument may take (`completion bash`).
    const subcommands = command.commands.length
      ? command.commands.map((c) => c.name())
      : (command.registeredArguments[0]?.argChoices ?? []);
    const words = subcommands.length ? subcommands.join(' ') : '';
    return `    '${path}') commands='${words}' options='${optionsOf(command).join(' ')}' ;;`;
  });
  const choiceCases = values
    .filter((o) => o.argChoices)
    .map((o) => `    ${o.long}) COMPREPLY=($(compgen -W '${o.argChoices!.join(' ')}' -- "$cur")); return ;;`);
  const dirs = values
    .filter((o) => DIRECTORY_VALUES.has(o.long as string))
    .map((o) => o.long)
    .join('|');
  const files = values
    .filter((o) => FILE_VALUES.has(o.long as string))
    .map((o) => o.long)
    .join('|');
  const others = values
    .filter((o) => !o.argChoices && !DIRECTORY_VALUES.has(o.long as string) && !FILE_VALUES.has(o.long as string))
    .map((o) => o.long)
    .join('|');
  return `# hoststore completion for bash (and zsh through bashcompinit).
# Load it now:    source <(hoststore completion bash)
# Or for good:    hoststore completion bash > /etc/bash_completion.d/hoststore
_hoststore() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} path= word i commands options
  # The command so far: each word that names a subcommand of the path before it; options and their values skipped.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    case "$word" in
      ${values.map((o) => o.long).join('|')}) ((i++)); continue ;;
      -*) continue ;;
    esac
    case "$path/$word" in
      ${nodes
        .filter((n) => n.path)
        .map((n) => `'${n.path}'`)
        .join('|')}) path=$path/$word ;;
    esac
  done
  case "$prev" in
${choiceCases.join('\n')}
    ${dirs || '--no-such-option'}) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    ${files || '--no-such-option'}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    ${others || '--no-such-option'}) COMPREPLY=(); return ;;
  esac
  case "$path" in
${cases.join('\n')}
  esac
  # Options when the word starts with - or there is no subcommand to pick; else the subcommands.
  if [[ $cur == -* || -z $commands ]]; then
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$commands" -- "$cur"))
  fi
}
complete -o default -F _hoststore hoststore
`;
}

export function zshScript(program: Command): string {
  return `# hoststore completion for zsh. Load it now: source <(hoststore completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashScript(program)}`;
}

export function fishScript(program: Command): string {
  const nodes = walk(program);
  const values = valueOptions(program);
  const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const lines = [
    '# hoststore completion for fish. Load it now: hoststore completion fish | source',
    '# Or for good: hoststore completion fish > ~/.config/fish/completions/hoststore.fish',
    'function __hoststore_path',
    '    set -l words (commandline -opc)',
    '    set -l path hoststore',
    '    set -l skip 0',
    '    for word in $words[2..-1]',
    '        if test $skip = 1',
    '            set skip 0',
    '            continue',
    '        end',
    '        switch $word',
    `            case ${values.map((o) => o.long).join(' ')}`,
    '                set skip 1',
    '                continue',
    "            case '-*'",
    '                continue',
    '        end',
    `        if contains -- $path/$word ${nodes
      .filter((n) => n.path)
      .map((n) => `hoststore${n.path}`)
      .join(' ')}`,
    '            set path $path/$word',
    '        end',
    '    end',
    '    echo $path',
    'end',
    'complete -c hoststore -f',
  ];
  for (const { path, command } of nodes) {
    const at = `-n 'test (__hoststore_path) = hoststore${path}'`;
    for (const sub of command.commands)
      lines.push(`complete -c hoststore ${at} -a ${sub.name()} -d ${quote(sub.description())}`);
    const choices = command.registeredArguments[0]?.argChoices;
    if (choices) lines.push(`complete -c hoststore ${at} -a ${quote(choices.join(' '))}`);
    for (const o of command.options.filter((o) => !o.hidden && o.long)) {
      const takes = o.required || o.optional;
      const value = !takes
        ? ''
        : o.argChoices
          ? ` -x -a ${quote(o.argChoices.join(' '))}`
          : DIRECTORY_VALUES.has(o.long as string)
            ? " -x -a '(__fish_complete_directories)'"
            : FILE_VALUES.has(o.long as string)
              ? ' -r -F'
              : ' -x';
      lines.push(
        `complete -c hoststore ${at} -l ${(o.long as string).slice(2)}${o.short ? ` -s ${o.short.slice(1)}` : ''}${value} -d ${quote(o.description)}`,
      );
    }
    lines.push(`complete -c hoststore ${at} -s h -l help -d 'show help'`);
  }
  return `${lines.join('\n')}\n`;
}

export function completionCommand(program: Command): Command {
  return new Command('completion')
    .description('print a shell completion script for bash, zsh or fish')
    .addArgument(new Command().createArgument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
    .addHelpText(
      'after',
      examples(
        'source <(hoststore completion bash)',
        'hoststore completion bash > /etc/bash_completion.d/hoststore',
        'hoststore completion fish > ~/.config/fish/completions/hoststore.fish',
      ),
    )
    .action(
      action((shell: string) => {
        process.stdout.write(
          shell === 'zsh' ? zshScript(program) : shell === 'fish' ? fishScript(program) : bashScript(program),
        );
        return 0;
      }),
    );
}
