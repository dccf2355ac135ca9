/** Runs the built `hoststore` CLI as Terraform's provisioners do: a separate process, spec in the environment. */
import { spawn, spawnSync } from 'node:child_process';
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
