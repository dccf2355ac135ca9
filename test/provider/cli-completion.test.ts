/**
 * Shell completion, as a shell uses it: the script `hoststore completion bash` prints is sourced in a
 * real bash, and its completion function is called the way bash calls it on TAB.
 */
import { spawnSync } from 'node:child_process';
import { hoststore } from '../helpers/cli.js';

/** What bash offers after `line` (the word being completed is the last one, '' after a trailing space). */
function complete(line: string): string[] {
  const script = hoststore(['completion', 'bash']).stdout;
  const words = line.split(' ');
  const program = [
    script,
    `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})`,
    `COMP_CWORD=${words.length - 1}`,
    `COMP_LINE='${line}'`,
    `COMP_POINT=${line.length}`,
    '_hoststore',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const result = spawnSync('bash', ['--norc', '--noprofile', '-c', program], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  return result.stdout.split('\n').filter(Boolean);
}

test('bash completes commands, subcommands, options of the command typed, and option values', () => {
  expect(complete('hoststore ')).toEqual(
    expect.arrayContaining(['list', 'status', 'snapshot', 'plan', 'apply', 'completion']),
  );
  expect(complete('hoststore sn')).toEqual(['snapshot']);
  expect(complete('hoststore snapshot ')).toEqual(['create', 'list', 'restore', 'delete', 'run-due', 'prune']);
  expect(complete('hoststore snapshot cr')).toEqual(['create']);
  expect(complete('hoststore snapshot create db --')).toEqual([
    '--root',
    '--project',
    '--max-freeze-seconds',
    '--json',
    '--help',
  ]);
  // Options of the command typed, not of others: list takes no --format.
  expect(complete('hoststore list --')).toEqual(['--root', '--app', '--json', '--host', '--parallelism', '--help']);
  expect(complete('hoststore --root /tmp list --j')).toEqual(['--json']);
  expect(complete('hoststore plan --format ')).toEqual(['text', 'markdown', 'json']);
  expect(complete('hoststore plan --app cdktf.out --d')).toEqual(['--detailed-exitcode']);
  expect(complete('hoststore completion ')).toEqual(['bash', 'zsh', 'fish']);
});

test('zsh and fish scripts are made from the same commands', () => {
  const zsh = hoststore(['completion', 'zsh']);
  expect(zsh).toMatchObject({
    status: 0,
    stdout: expect.stringMatching(/bashcompinit[\s\S]*complete -o default -F _hoststore hoststore/),
  });
  const fish = hoststore(['completion', 'fish']);
  expect(fish.status).toBe(0);
  expect(fish.stdout).toMatch(/complete -c hoststore -n 'test \(__hoststore_path\) = hoststore\/snapshot' -a create /);
  expect(fish.stdout).toMatch(
    /complete -c hoststore -n 'test \(__hoststore_path\) = hoststore\/plan' -l format -x -a 'text markdown json'/,
  );
  expect(hoststore(['completion', 'tcsh'])).toMatchObject({
    status: 2,
    stderr: expect.stringMatching(/Allowed choices are bash, zsh, fish/),
  });
});

const hasShell = (shell: string) => spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;

(hasShell('fish') ? test : test.skip)('fish completes commands, subcommands and options of the command typed', () => {
  const script = hoststore(['completion', 'fish']).stdout;
  const complete = (line: string) => {
    const result = spawnSync('fish', ['--no-config', '-c', `${script}\ncomplete -C ${JSON.stringify(line)}`], {
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    return result.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t')[0]);
  };
  expect(complete('hoststore sn')).toEqual(['snapshot']);
  expect(complete('hoststore snapshot cr')).toEqual(['create']);
  expect(complete('hoststore list --').sort()).toEqual(['--app', '--help', '--host', '--json', '--parallelism', '--root']);
  expect(complete('hoststore plan --format ').sort()).toEqual(['json', 'markdown', 'text']);
});

(hasShell('zsh') ? test : test.skip)('zsh runs the bash function through bashcompinit', () => {
  const script = hoststore(['completion', 'zsh']).stdout;
  // zsh's completion system filters by what was typed; the function offers what fits the command line.
  const program = `${script}\nsetopt ksharrays\nCOMP_WORDS=(hoststore snapshot '')\nCOMP_CWORD=2\n_hoststore\nprint -l -- "\${COMPREPLY[@]}"\nprint -- "\${_comps[hoststore]}"`;
  const result = spawnSync('zsh', ['-f', '-c', program], {
    encoding: 'utf8',
    env: { ...process.env, HOME: '/nonexistent' },
  });
  expect(result.stdout.split('\n').filter(Boolean)).toEqual([
    'create',
    'list',
    'restore',
    'delete',
    'run-due',
    'prune',
    '_bash_complete -o default -F _hoststore',
  ]);
});
