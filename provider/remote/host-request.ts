/**
 * The local end of the `engine` and `read` requests: sends one to a host's `hoststore remote` and gives
 * back what it answered, or throws one line saying why the host could not answer.
 */
import { CONTRACT_VERSION, describeHost, type HostConnection } from '../../src/host-connection.js';
import { HoststoreError, RefusedError } from '../errors.js';
import { runRemote, type RemoteRun, type RemoteRunOptions } from './ssh-run.js';

/** What `serve-engine.ts` writes on stdout: the op's result, or the error that stopped it (as one line and its exit status). */
export interface EngineAnswer {
  readonly hoststoreEngine: 1;
  readonly plan?: unknown;
  readonly retained?: string[];
  readonly refusals?: string[];
  /** The lines the op logged (an apply's steps), in order. */
  readonly log: string[];
  readonly error?: { readonly message: string; readonly exitCode: number };
}

/**
 * An error the host reported for an op, with the exit status of its class (3 refused, 2 spec, 1 failed),
 * and the host's answer when it sent one (a plan-apply's plan and the lines logged before it stopped).
 */
export class HostOpError extends HoststoreError {
  constructor(
    message: string,
    override readonly exitCode: number,
    readonly answer?: EngineAnswer,
  ) {
    super(message);
    this.name = 'HostOpError';
  }
}

/** Sends `command` with `fields` to the host; throws the transport's errors (unreachable, host key, missing or incompatible hoststore). */
export function request(
  connection: HostConnection,
  command: 'engine' | 'read',
  fields: object,
  options: RemoteRunOptions = {},
): Promise<RemoteRun> {
  return runRemote(connection, { hoststore: CONTRACT_VERSION, command, ...fields }, options);
}

/** The last line the host wrote on stderr, else its exit status: why it failed, in one line. */
export function failureLine(connection: HostConnection, run: RemoteRun): string {
  const last = run.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .pop();
  return last ? last.replace(/^hoststore: /, '') : `hoststore remote on ${describeHost(connection)} exited ${run.code}`;
}

/** Runs an engine op on the host: its answer, or a HostOpError (its error, refused or failed) / the transport's error. */
export async function engineOp(connection: HostConnection, fields: object): Promise<EngineAnswer> {
  const run = await request(connection, 'engine', fields);
  let answer: EngineAnswer | undefined;
  try {
    const parsed = JSON.parse(run.stdout) as EngineAnswer;
    if (parsed && parsed.hoststoreEngine === 1 && Array.isArray(parsed.log)) answer = parsed;
  } catch {
    answer = undefined;
  }
  if (answer?.error) throw new HostOpError(answer.error.message, answer.error.exitCode, answer);
  if (!answer || run.code !== 0)
    throw new HostOpError(failureLine(connection, run), run.code === new RefusedError('').exitCode ? 3 : 1);
  return answer;
}
