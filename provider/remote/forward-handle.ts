/**
 * `hoststore handle KIND OP` of a remote project (HOSTSTORE_HOST set): the same handler, run on the storage
 * host by `hoststore remote` with the spec sent over ssh's stdin. Nothing here touches this machine's storage,
 * so the deploying user needs no root.
 */
import { HOST_ENV, holdsKeyMaterial, hostConnectionProblems, type HostConnection } from '../../src/host-connection.js';
import type { KindName } from '../../src/kinds.js';
import { SpecError } from '../errors.js';
import { FORWARDED_ENV } from './forward-env.js';
import { hostOf, retainedLine } from './host-moved.js';

/** HOSTSTORE_HOST as a connection, or one SpecError line naming each problem. */
export function connectionOf(raw: string): HostConnection {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = undefined;
  }
  const problems = value === undefined ? ['is not JSON'] : hostConnectionProblems(value);
  if (problems.length > 0)
    throw new SpecError(
      `${HOST_ENV} ${problems.join('; ')}: it is written by the synthesized provisioners from the StorageProject's \`host\`; run cdktf synth again and deploy the stack as synthesized (got ${holdsKeyMaterial(raw) ? 'key material, not shown' : JSON.stringify(raw.slice(0, 120))})`,
    );
  return value as HostConnection;
}

/**
 * Forwards one handler call to the host. A delete of a thing made for another host (or for no host: the
 * project moved) does nothing anywhere and says where the thing was retained; a converge of a spec for another
 * host is refused. `input` is the parsed HOSTSTORE_SPEC.
 */
export async function forwardHandle(
  kind: KindName,
  op: 'converge' | 'delete',
  env: Readonly<Record<string, string | undefined>>,
  input: unknown,
  rawConnection: string,
): Promise<number> {
  const connection = connectionOf(rawConnection);
  const madeFor = hostOf(input);
  if (op === 'delete' && madeFor !== connection.address) {
    process.stdout.write(`${retainedLine(kind, input, madeFor, connection.address)}\n`);
    return 0;
  }
  // A spec naming no host is a local project's (HOSTSTORE_HOST came from the environment Terraform inherits, not
  // from the stack): converged there, its storage could never be deleted (its identity says "this machine").
  if (madeFor !== connection.address)
    throw new SpecError(
      `HOSTSTORE_SPEC is for ${madeFor === undefined ? 'the machine that runs the deploy (it names no host)' : `host ${madeFor}`}, but ${HOST_ENV} sends it to ${connection.address}: run cdktf synth again and deploy the stack as synthesized`,
    );
  const forwarded: Record<string, string> = {};
  for (const [key, value] of Object.entries(env))
    if (value !== undefined && FORWARDED_ENV.test(key)) forwarded[key] = value;
  const { runRemote } = await import('./ssh-run.js');
  const run = await runRemote(
    connection,
    { command: 'handle', args: [kind, op], host: connection.address, env: forwarded },
    { relayStdout: true, relayStderr: true },
  );
  return run.code;
}
