/** Runs the built `hoststore` CLI as Terraform's provisioners do: a separate process, spec in the environment. */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/provider/cli.js');

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function hoststore(args: string[], spec?: unknown, env: NodeJS.ProcessEnv = {}): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env, ...(spec === undefined ? {} : { HOSTSTORE_SPEC: JSON.stringify(spec) }) },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function hoststoreAsync(args: string[], spec?: unknown, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env, ...(spec === undefined ? {} : { HOSTSTORE_SPEC: JSON.stringify(spec) }) },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
  return { child, done };
}

/**
 * A CLI for a test app's provisioners: a shell wrapper in `dir` that logs each invocation's arguments, one
 * line each, then runs the real CLI; `calls()` reads that log.
 */
export function loggingCli(dir: string): { readonly path: string; calls(): string[] } {
  const log = path.join(dir, 'calls.log');
  const wrapper = path.join(dir, 'hoststore-wrapper');
  fs.writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${process.execPath}' '${CLI}' "$@"\n`, {
    mode: 0o755,
  });
  return {
    path: wrapper,
    calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
  };
}
