/**
 * The command line as a user meets it, through the built CLI in its own process: per-command options,
 * typo suggestions, per-command help, --version, and one line with the exit status of each error class.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hoststore } from '../helpers/cli.js';

const version = (JSON.parse(fs.readFileSync(path.resolve('package.json'), 'utf8')) as { version: string }).version;
/** A usage error: one line on stderr, nothing on stdout, exit 2. */
const usageLine = (pattern: RegExp) => ({
  status: 2,
  stdout: '',
  stderr: expect.stringMatching(new RegExp(`^hoststore: ${pattern.source}.*\\n$`)),
});

test('an option a command does not take is refused, naming the command and the options it takes', () => {
  expect(hoststore(['list', '--format', 'json'])).toMatchObject(
    usageLine(
      /unknown option '--format' for list; list takes --root <dir>, --app <dir>, --json, --host <address>, --parallelism <n>, -h, --help/,
    ),
  );
  expect(hoststore(['list', '--auto-approve'])).toMatchObject(
    usageLine(/unknown option '--auto-approve' for list; list takes .*--json/),
  );
  expect(hoststore(['up', '--json'])).toMatchObject(
    usageLine(/unknown option '--json' for up; up takes --root <dir>, -h, --help/),
  );
  expect(hoststore(['snapshot', 'list', '--to', 'x'])).toMatchObject(
    usageLine(/unknown option '--to' for snapshot list; snapshot list takes/),
  );
  expect(hoststore(['list', 'extra'])).toMatchObject(
    usageLine(/too many arguments for 'list'.*; usage: hoststore list \[options\]/),
  );
  expect(hoststore(['status'])).toMatchObject(
    usageLine(/missing required argument 'name' for status; usage: hoststore status \[options\] <name>/),
  );
  expect(hoststore(['plan', '--format', 'yaml'])).toMatchObject(
    usageLine(
      /plan: option '--format <format>' argument 'yaml' is invalid\. Allowed choices are text, markdown, json; usage: hoststore plan \[options\]/,
    ),
  );
  // --root, --project and --json may stand before the command, for a command that takes them; another option there says where it goes.
  expect(hoststore(['--json', 'up'])).toMatchObject(
    usageLine(/unknown option '--json' for up; up takes --root <dir>, -h, --help/),
  );
  expect(hoststore(['--app', 'cdktf.out', 'plan'])).toMatchObject(
    usageLine(
      /--app goes after the command it is for \(hoststore plan --app \.\.\.\); it is an option of list, status, lease-list, history, plan, apply, diff, destroy/,
    ),
  );
  expect(hoststore(['help', 'lst'])).toMatchObject(
    usageLine(/unknown command 'lst' \(did you mean list\?\); hoststore commands: list, status, /),
  );
  // Options but no command: the commands it needs, not "no such command".
  expect(hoststore(['--no-color'])).toMatchObject(usageLine(/a command is needed: list, status, /));
  expect(hoststore(['snapshot'])).toMatchObject(
    usageLine(
      /snapshot needs a command: create, list, restore, delete, run-due, prune \(see hoststore snapshot --help\)/,
    ),
  );
});

test('typos of commands and options get a suggestion', () => {
  expect(hoststore(['lst'])).toMatchObject(
    usageLine(/unknown command 'lst' \(did you mean list\?\); run hoststore --help/),
  );
  expect(hoststore(['snapshot', 'creat', 'db'])).toMatchObject(
    usageLine(
      /unknown command 'creat' for snapshot \(did you mean create\?\); snapshot commands: create, list, restore, delete, run-due, prune/,
    ),
  );
  expect(hoststore(['plan', '--formt', 'json'])).toMatchObject(
    usageLine(/unknown option '--formt' for plan \(did you mean --format\?\); plan takes /),
  );
  expect(hoststore(['delete', 'db', '--forse'])).toMatchObject(
    usageLine(/unknown option '--forse' for delete \(did you mean --force\?\)/),
  );
});

test('each command has its own help, with examples; --version prints the package version', () => {
  const help = hoststore(['snapshot', 'create', '--help']);
  expect(help).toMatchObject({ status: 0, stderr: '' });
  expect(help.stdout).toMatch(/^Usage: hoststore snapshot create \[options\] <name>/);
  expect(help.stdout).toMatch(/--max-freeze-seconds <n>/);
  expect(help.stdout).not.toMatch(/--auto-approve/);
  expect(help.stdout).toMatch(/Examples:\n {2}\$ hoststore snapshot create db/);
  expect(hoststore(['help', 'apply']).stdout).toMatch(
    /--allow-data-loss <name>[\s\S]*Examples:\n {2}\$ hoststore apply/,
  );
  // `help COMMAND` is asked-for help, as `COMMAND --help` is: exit 0 and nothing on stderr, for a group too.
  for (const args of [['help', 'apply'], ['help', 'snapshot'], ['help']]) {
    const asked = hoststore(args);
    expect({ args, status: asked.status, stderr: asked.stderr }).toEqual({ args, status: 0, stderr: '' });
    expect(asked.stdout).toMatch(/^Usage: hoststore /);
  }
  const top = hoststore(['--help']);
  expect(top).toMatchObject({
    status: 0,
    stdout: expect.stringMatching(
      /^Usage: hoststore <command> \[options\][\s\S]*completion <shell>[\s\S]*Exit codes: 0 ok/,
    ),
  });
  expect(hoststore(['--version'])).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
  expect(hoststore(['-v'])).toMatchObject({ status: 0, stdout: `${version}\n` });
  // No command: the help on stderr (stdout stays empty for a script that forgot its command), exit 2.
  expect(hoststore([])).toMatchObject({
    status: 2,
    stdout: '',
    stderr: expect.stringMatching(/^Usage: hoststore <command> \[options\]/),
  });
});

test('exit status by error class: usage and spec 2, failed 1, refused 3', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-cli-'));
  try {
    // SpecError: a root that breaks the root rule.
    expect(hoststore(['list', '--root', '/etc'])).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(
        /^hoststore: --root "\/etc" is not a usable hoststore root: it must not be a system directory/,
      ),
    });
    // Global options before the command work as after it.
    expect(hoststore(['--root', dir, '--json', 'list'])).toEqual({ status: 0, stdout: '[]\n', stderr: '' });
    // HoststoreError: nothing by that name on an (empty) root.
    expect(hoststore(['status', 'nothing', '--root', dir])).toMatchObject({
      status: 1,
      stderr: expect.stringMatching(/^hoststore: no storage named 'nothing' under /),
    });
    // RefusedError: a saved plan that is a symlink could have been changed by someone else.
    fs.symlinkSync('/dev/null', path.join(dir, 'plan.json'));
    expect(hoststore(['apply', path.join(dir, 'plan.json')])).toMatchObject({
      status: 3,
      stderr: expect.stringMatching(/^hoststore: refusing to apply the saved plan .*: it is a symlink/),
    });
    // UsageError from a library function: diff without --base is caught by the parser first.
    expect(hoststore(['diff'])).toMatchObject(
      usageLine(/required option '--base <dir>' not specified for diff; usage: hoststore diff \[options\]/),
    );
    // With --detailed-exitcode, 2 means changes, so an error is 1.
    expect(hoststore(['plan', '--app', path.join(dir, 'none'), '--detailed-exitcode'])).toMatchObject({
      status: 1,
      stderr: expect.stringMatching(/is not a synth output/),
    });
    expect(hoststore(['plan', '--app', path.join(dir, 'none')])).toMatchObject({ status: 2 });
    // A command that does not take --detailed-exitcode: a usage error, 2, like any other unknown option.
    expect(hoststore(['list', '--detailed-exitcode'])).toMatchObject(
      usageLine(/unknown option '--detailed-exitcode' for list/),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('no call site picks an exit code: HoststoreError takes no number', () => {
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (file.endsWith('.ts')) {
        const text = fs.readFileSync(file, 'utf8');
        // The message argument, then a number as the next argument.
        for (const m of text.matchAll(/new HoststoreError\(((?:[^()]|\((?:[^()]|\([^()]*\))*\))*?),\s*\d+\s*[,)]/g))
          offenders.push(`${file}: ${m[0].slice(0, 80)}`);
      }
    }
  };
  walk(path.resolve('provider'));
  expect(offenders).toEqual([]);
});

/** The sources the files a process resolved hold: the CLI is bundled, and esbuild heads each source in a chunk with a `// path` line. */
function loadedSources(record: string): string {
  return fs
    .readFileSync(record, 'utf8')
    .split('\n')
    .filter((url) => url.startsWith('file:'))
    .flatMap((url) => [...fs.readFileSync(new URL(url), 'utf8').matchAll(/^\/\/ (\S+)$/gm)].map((m) => m[1]))
    .join('\n');
}

test('the handler path Terraform runs per resource loads neither the parser nor the output libraries', () => {
  // GIVEN module loaders (ES and CommonJS) that record every module the process resolves
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-cli-'));
  try {
    const record = path.join(dir, 'resolved');
    fs.writeFileSync(
      path.join(dir, 'loader.mjs'),
      `import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(record)}, r.url + '\\n'); return r; }\n`,
    );
    fs.writeFileSync(
      path.join(dir, 'register.mjs'),
      // The handler's bundle is CommonJS, run from its code cache (read as a file) or required: the ES hook
      // sees neither, so reads of scripts and Module's load are recorded too.
      `import { register } from 'node:module';\nimport Module from 'node:module';\nimport fs from 'node:fs';\nimport { pathToFileURL } from 'node:url';\n` +
        `const note = (file) => fs.appendFileSync(${JSON.stringify(record)}, pathToFileURL(file).href + '\\n');\n` +
        `const load = Module.prototype.load;\nModule.prototype.load = function (file) { note(file); return load.call(this, file); };\n` +
        `const read = fs.readFileSync;\nfs.readFileSync = function (file, ...rest) { if (typeof file === 'string' && /\\.c?js$/.test(file)) note(file); return read.call(this, file, ...rest); };\n` +
        `register(${JSON.stringify(`file://${dir}/loader.mjs`)});\n`,
    );
    // WHEN handle runs (a spec it refuses: the same imports as a no-op, without a host)
    const result = hoststore(
      ['handle', 'mount', 'converge'],
      { kind: 'nonsense' },
      { NODE_OPTIONS: `--import ${path.join(dir, 'register.mjs')}` },
    );
    expect(result.status).toBe(2);
    // THEN commander, cli-table3 and picocolors were never loaded
    const resolved = loadedSources(record);
    expect(resolved).toMatch(/provider\/commands\/handle\.ts/);
    expect(resolved).not.toMatch(/node_modules\/(commander|cli-table3|picocolors)\//);
    expect(resolved).not.toMatch(/provider\/cli\/program\.ts/);
    // AND the same check sees them when a command goes through the parser
    fs.writeFileSync(record, '');
    hoststore(['list', '--root', dir], undefined, { NODE_OPTIONS: `--import ${path.join(dir, 'register.mjs')}` });
    expect(loadedSources(record)).toMatch(/node_modules\/commander\//);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
