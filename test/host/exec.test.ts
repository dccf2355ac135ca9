import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CommandError, MissingToolError, findTool, run } from '../../provider/exec.js';
import { requireMkfs } from '../../provider/host/filesystem.js';
import { HoststoreError } from '../../provider/errors.js';

const savedToolPath = process.env.HOSTSTORE_TOOL_PATH;
afterEach(() => {
  if (savedToolPath === undefined) delete process.env.HOSTSTORE_TOOL_PATH;
  else process.env.HOSTSTORE_TOOL_PATH = savedToolPath;
});

test('run returns stdout, stderr and exit code of a successful command', async () => {
  const result = await run('sh', ['-c', 'echo out; echo err >&2']);
  expect(result).toEqual({ stdout: 'out', stderr: 'err', exitCode: 0 });
});

test('arguments are passed as they are, never through a shell', async () => {
  const tricky = 'a b; rm -rf / $(id) `id` "q" \'s\'';
  const { stdout } = await run('printf', ['%s', tricky]);
  expect(stdout).toBe(tricky);
});

test('a failed command becomes a CommandError: one-line summary, detail with command, exit code and stderr', async () => {
  // GIVEN a command that fails with a message on stderr
  const missing = path.join(os.tmpdir(), 'hoststore-no-such-dir', 'x y');
  // WHEN it runs
  const error = await run('ls', ['-d', missing]).catch((e: unknown) => e);
  // THEN
  expect(error).toBeInstanceOf(CommandError);
  expect(error).toBeInstanceOf(HoststoreError);
  const failure = error as CommandError;
  expect(failure.summary).toBe(failure.message);
  expect(failure.summary).not.toContain('\n');
  expect(failure.summary).toMatch(/^ls failed: ls: cannot access .*No such file or directory/);
  expect(failure.command).toEqual([findTool('ls'), '-d', missing]);
  expect(failure.commandExitCode).toBe(2);
  expect(failure.exitCode).toBe(1); // the CLI's status, not the tool's
  expect(failure.stderr).toMatch(/No such file or directory/);
  expect(failure.detail).toContain(`command:   ${findTool('ls')} -d '${missing}'`);
  expect(failure.detail).toContain('exit code: 2');
  expect(failure.detail).toMatch(/stderr: +ls: cannot access/);
  expect(failure.describe()).toBe(`${failure.message}\n${failure.detail}`);
});

test('allowExitCodes turns a known non-zero exit into a result', async () => {
  const result = await run('sh', ['-c', 'exit 3'], { allowExitCodes: [3] });
  expect(result.exitCode).toBe(3);
  await expect(run('sh', ['-c', 'exit 4'], { allowExitCodes: [3] })).rejects.toBeInstanceOf(CommandError);
});

test('a command that runs past its timeout is killed and reported as timed out', async () => {
  const started = Date.now();
  const error = (await run('sleep', ['10'], { timeoutMs: 200 }).catch((e: unknown) => e)) as CommandError;
  expect(Date.now() - started).toBeLessThan(5000);
  expect(error).toBeInstanceOf(CommandError);
  expect(error.message).toMatch(/^sleep failed: timed out after 200 ms/);
  expect(error.detail).toMatch(/exit code: none \(killed by SIGTERM\)/);
});

test('a concurrent command lets other work proceed while it runs, and reports like any other', async () => {
  // GIVEN a timer that should fire while the command runs
  let fired = false;
  const timer = setTimeout(() => (fired = true), 50);
  // WHEN a command runs concurrently THEN it returns its output, and the timer fired meanwhile
  await expect(run('sh', ['-c', 'sleep 0.3; echo done'], { concurrent: true })).resolves.toEqual({
    stdout: 'done',
    stderr: '',
    exitCode: 0,
  });
  clearTimeout(timer);
  expect(fired).toBe(true);
  // AND a failure is the same CommandError, timeouts included
  const failed = (await run('sh', ['-c', 'echo bad >&2; exit 5'], { concurrent: true }).catch(
    (e: unknown) => e,
  )) as CommandError;
  expect(failed).toBeInstanceOf(CommandError);
  expect(failed).toMatchObject({ commandExitCode: 5, stderr: 'bad' });
  const slow = (await run('sleep', ['10'], { concurrent: true, timeoutMs: 200 }).catch(
    (e: unknown) => e,
  )) as CommandError;
  expect(slow.message).toMatch(/^sleep failed: timed out after 200 ms/);
});

test('stdout: discard drops the output and keeps stderr for the error', async () => {
  await expect(run('sh', ['-c', 'echo out; echo err >&2'], { stdout: 'discard' })).resolves.toEqual({
    stdout: '',
    stderr: 'err',
    exitCode: 0,
  });
});

test('findTool scans PATH and the sbin directories without spawning; HOSTSTORE_TOOL_PATH replaces the search', () => {
  expect(findTool('mkfs.ext4')).toMatch(/\/mkfs\.ext4$/);
  expect(findTool('definitely-not-a-tool-xyz')).toBeUndefined();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-tools-'));
  try {
    fs.writeFileSync(path.join(dir, 'mytool'), '#!/bin/sh\n', { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'notexec'), '', { mode: 0o644 });
    process.env.HOSTSTORE_TOOL_PATH = dir;
    expect(findTool('mytool')).toBe(path.join(dir, 'mytool'));
    expect(findTool('notexec')).toBeUndefined();
    expect(findTool('mkfs.ext4')).toBeUndefined();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.each([
  ['ext4', 'mkfs.ext4', 'e2fsprogs'],
  ['xfs', 'mkfs.xfs', 'xfsprogs'],
  ['btrfs', 'mkfs.btrfs', 'btrfs-progs'],
] as const)('a missing mkfs for %s is a MissingToolError naming the Debian package %s', (filesystem, tool, pkg) => {
  process.env.HOSTSTORE_TOOL_PATH = '/nonexistent';
  const error = (() => {
    try {
      requireMkfs(filesystem);
      return undefined;
    } catch (e) {
      return e;
    }
  })() as MissingToolError;
  expect(error).toBeInstanceOf(MissingToolError);
  expect(error.tool).toBe(tool);
  expect(error.debianPackage).toBe(pkg);
  expect(error.message).toBe(
    `${tool} is not installed, so hoststore cannot format ${filesystem}; install the Debian package '${pkg}' (apt-get install ${pkg})`,
  );
});

test.each([
  ['losetup', 'mount'],
  ['mount', 'mount'],
  ['umount', 'mount'],
  ['blkid', 'util-linux'],
  ['findmnt', 'util-linux'],
  ['fsfreeze', 'util-linux'],
  ['resize2fs', 'e2fsprogs'],
  ['xfs_growfs', 'xfsprogs'],
  ['btrfs', 'btrfs-progs'],
])('run of a missing %s fails before spawning, naming package %s', async (tool, pkg) => {
  process.env.HOSTSTORE_TOOL_PATH = '';
  const error = (await run(tool, ['--version']).catch((e: unknown) => e)) as MissingToolError;
  expect(error).toBeInstanceOf(MissingToolError);
  expect(error.message).toContain(`install the Debian package '${pkg}'`);
});
