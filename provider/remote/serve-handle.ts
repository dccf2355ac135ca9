/**
 * `hoststore remote`'s `handle` command, on the storage host: the provisioner's handler call forwarded by
 * forward-handle.ts, run here with the same code as `hoststore handle` and only the variables a handler reads.
 *
 * Request: `{ hoststore, command: "handle", args: [KIND, OP], host: "<address the deploy reached this host by>",
 * env: { HOSTSTORE_SPEC, HOSTSTORE_SPEC_<n>?, HOSTSTORE_STACK?, HOSTSTORE_PROJECT_NOW? } }`.
 */
import { hostAddressRule } from '../../src/host-connection.js';
import { SpecError } from '../errors.js';
import { FORWARDED_ENV } from './forward-env.js';

const fail = (why: string) => new SpecError(`handle request: ${why}`);

export async function serve(request: Record<string, unknown>): Promise<number> {
  const { args, env, host } = request;
  if (!Array.isArray(args) || args.length !== 2 || !args.every((a) => typeof a === 'string'))
    throw fail(`args must be [KIND, OP], two strings (got ${JSON.stringify(args)?.slice(0, 120)})`);
  const addressProblem = hostAddressRule(host);
  if (addressProblem) throw fail(`host ${addressProblem} (got ${JSON.stringify(host)?.slice(0, 120)})`);
  if (typeof env !== 'object' || env === null || Array.isArray(env)) throw fail('env must be a JSON object of strings');
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (!FORWARDED_ENV.test(key))
      throw fail(
        `env may hold only HOSTSTORE_SPEC, HOSTSTORE_SPEC_<n>, HOSTSTORE_STACK and HOSTSTORE_PROJECT_NOW (got ${JSON.stringify(key).slice(0, 80)})`,
      );
    if (typeof value !== 'string') throw fail(`env ${key} must be a string`);
    vars[key] = value;
  }
  const { handle } = await import('../commands/handle.js');
  // Run for this host: a thing made for another one is not touched, and HOSTSTORE_HOST (never sent) is not read.
  return handle(args as string[], vars, { host: host as string });
}
