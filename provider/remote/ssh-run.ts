/**
 * Runs `hoststore remote` on a storage host through the system's OpenSSH client, with the request on ssh's
 * stdin: the command line is fixed (`ssh -F <private config> -T hoststore-target hoststore remote`), so no user
 * value is ever on a command line, in `ps`, or parsed by a shell on either end.
 */
import { spawn } from 'node:child_process';
import { CONTRACT_VERSION, REMOTE_COMMAND, type HostConnection } from '../../src/host-connection.js';
import { HoststoreError } from '../errors.js';
import { packageVersion } from '../package-version.js';
import { HostKeyError, HostUnreachableError, RemoteIncompatibleError, RemoteMissingError } from './remote-errors.js';
import { SSH_TARGET, writeSshConfig } from './ssh-config.js';
import { CONTRACT_MISMATCH, REMOTE_ACCEPTED } from './remote-protocol.js';

export interface RemoteRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RemoteRunOptions {
  /** Pass the host's stdout through live (it is returned as well). */
  readonly relayStdout?: boolean;
  /** Pass the host's stderr through live (it is returned as well). */
  readonly relayStderr?: boolean;
  readonly signal?: AbortSignal;
}

/** ssh's exit status for its own failures (connect, authentication, host key); the remote command's otherwise. */
const SSH_FAILED = 255;
/** The remote shell's "command not found". */
const COMMAND_NOT_FOUND = 127;

/** Variables of ours that ssh has no use for: kept out of its environment (and out of /proc/<pid>/environ). */
const PRIVATE_ENV = /^HOSTSTORE_/;

const lastLine = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .pop() ?? '';

/**
 * Sends `request` (plus the contract version and this hoststore's version) to `hoststore remote` on the host
 * and resolves to its exit code and output. Throws HostUnreachableError, HostKeyError, RemoteMissingError or
 * RemoteIncompatibleError (see remote-errors.ts) when the host could not run it; any other exit code is returned.
 */
export function runRemote(connection: HostConnection, request: object, options: RemoteRunOptions = {}): Promise<RemoteRun> {
  const config = writeSshConfig(connection);
  const body = JSON.stringify({ ...request, hoststore: CONTRACT_VERSION, version: packageVersion() });
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!PRIVATE_ENV.test(key)) env[key] = value;
  return new Promise((resolve, reject) => {
    // node's spawn rather than exec.ts (execa): the request streams in on stdin and the host's output streams
    // out live, and the forwarding handler, which Terraform starts per resource, does not load execa at all.
    const child = spawn('ssh', ['-F', config, '-T', SSH_TARGET, REMOTE_COMMAND], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env,
      signal: options.signal,
    });
    let stdout = '';
    let stderr = '';
    let accepted = false;
    let failed: Error | undefined;
    child.on('error', (error: NodeJS.ErrnoException) => {
      failed =
        error.code === 'ENOENT'
          ? new HoststoreError(
              'ssh (the OpenSSH client) is not installed, and hoststore reaches remote hosts through it: apt-get install openssh-client',
            )
          : error.name === 'AbortError'
            ? new HoststoreError(`the request to host ${connection.address} was stopped`)
            : error;
    });
    child.stdin.on('error', () => undefined); // ssh gone before reading it all: its exit says why
    child.stdin.end(body);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (accepted && options.relayStdout) process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk: string) => {
      if (accepted) {
        stderr += chunk;
        if (options.relayStderr) process.stderr.write(chunk);
        return;
      }
      stderr += chunk;
      const marker = stderr.indexOf(REMOTE_ACCEPTED);
      if (marker === -1) return;
      const end = stderr.indexOf('\n', marker);
      if (end === -1) return;
      // Before the marker: ssh's notes (a lost race to set up the shared connection) and whatever the login
      // shell printed, not the host's answer; after it: output held back until now.
      stderr = stderr.slice(end + 1);
      accepted = true;
      if (options.relayStderr && stderr) process.stderr.write(stderr);
      if (options.relayStdout && stdout) process.stdout.write(stdout);
    });
    child.on('close', (code, signal) => {
      if (failed) return reject(failed);
      if (code === null)
        return reject(new HoststoreError(`ssh to host ${connection.address} was killed (${signal ?? 'no signal'})`));
      if (accepted) {
        if (code === SSH_FAILED) return reject(new HostUnreachableError(connection, lastLine(stderr), true));
        return resolve({ code, stdout, stderr });
      }
      const refusal = refusalOf(connection, code, stderr);
      if (refusal) return reject(refusal);
      // The host answered without accepting the request (a usage error of `hoststore remote` itself): its words.
      if (options.relayStderr && stderr) process.stderr.write(stderr);
      if (options.relayStdout && stdout) process.stdout.write(stdout);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Why the host did not run the request at all, from ssh's exit status and what it or the remote shell said. */
function refusalOf(connection: HostConnection, code: number, stderr: string): Error | undefined {
  if (code === SSH_FAILED) {
    if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/.test(stderr))
      return new HostKeyError(connection, true);
    if (/host key is known for|Host key verification failed/.test(stderr)) return new HostKeyError(connection, false);
    return new HostUnreachableError(connection, lastLine(stderr));
  }
  if (code === COMMAND_NOT_FOUND) return new RemoteMissingError(connection);
  if (code === CONTRACT_MISMATCH)
    return new RemoteIncompatibleError(
      connection,
      lastLine(stderr)
        .replace(/^hoststore: /, '')
        .replace(/; install the same version on both: .*$/, ''),
    );
  if (/unknown command 'remote'/.test(stderr))
    return new RemoteIncompatibleError(connection, 'its hoststore is too old to know `hoststore remote`');
  // Success without the acceptance line: whatever ran was not `hoststore remote`, and did not do the request.
  if (code === 0)
    return new RemoteIncompatibleError(
      connection,
      'the hoststore there did not accept the request (it is not one that serves `hoststore remote`)',
    );
  return undefined;
}
