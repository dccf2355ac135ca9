/**
 * `hoststore handle <kind> <op>`: what Terraform's local-exec provisioners run. The spec arrives as JSON
 * in HOSTSTORE_SPEC (never through a shell), is parsed with the shared schema, then converged or deleted.
 */
import { SpecError, UsageError } from '../errors.js';
import { converge, makeContext, remove } from '../handlers/handler.js';
import { loadHandler } from '../handlers/by-kind.js';
import { KIND_NAMES, type KindName } from '../../src/kinds.js';
import { HOST_ENV } from '../../src/host-connection.js';
import { hostOf, retainedLine } from '../remote/host-moved.js';

function isKind(kind: string | undefined): kind is KindName {
  return (KIND_NAMES as readonly (string | undefined)[]).includes(kind);
}

/** A spec is one flat object of strings; anything nested deeper is not one, and is refused before anything walks it. */
const MAX_SPEC_DEPTH = 2;

export function parseSpecJson(raw: string | undefined, variable = 'HOSTSTORE_SPEC'): unknown {
  if (raw === undefined || raw === '')
    throw new SpecError(`no spec: ${variable} is empty (this command is run by the synthesized provisioners)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    // V8's parser recurses: deep enough nesting overflows its stack (a RangeError) rather than failing to parse.
    const why = error instanceof RangeError ? 'it nests too deep to read' : (error as Error).message;
    throw new SpecError(
      `${variable} is not JSON (${why}): a spec is one JSON object of strings, as the synthesized provisioners write it (got ${JSON.stringify(raw.slice(0, 60))}${raw.length > 60 ? '...' : ''})`,
    );
  }
  const depth = nestingDepth(parsed, MAX_SPEC_DEPTH);
  if (depth > MAX_SPEC_DEPTH) {
    throw new SpecError(
      `${variable} nests more than ${MAX_SPEC_DEPTH} levels deep: a spec is one JSON object of strings, as the synthesized provisioners write it (got ${JSON.stringify(raw.slice(0, 60))}${raw.length > 60 ? '...' : ''})`,
    );
  }
  return parsed;
}

/** How deep `value` nests, counted without recursion and only up to `limit + 1` (enough to refuse it). */
function nestingDepth(value: unknown, limit: number): number {
  let level: unknown[] = [value];
  let depth = 0;
  while (level.length > 0 && depth <= limit) {
    const next: unknown[] = [];
    for (const v of level)
      if (typeof v === 'object' && v !== null) for (const child of Object.values(v)) next.push(child);
    if (next.length === 0 && !level.some((v) => typeof v === 'object' && v !== null)) break;
    depth += 1;
    level = next;
  }
  return depth;
}

/** Where a handler call runs. */
export interface HandleOptions {
  /**
   * The host address this process acts for: set by `hoststore remote` on a storage host (the address the
   * deploy reached it by); undefined for the machine that runs the deploy. A thing made for another host is
   * never touched here.
   */
  readonly host?: string;
}

/**
 * Runs one handler call. `env` holds what the provisioner set (HOSTSTORE_SPEC, HOSTSTORE_SPEC_<n>,
 * HOSTSTORE_STACK, HOSTSTORE_HOST): the process's own environment locally, the request's on a remote host.
 */
export async function handle(
  args: string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: HandleOptions = {},
): Promise<number> {
  const [kind, op] = args;
  if (!isKind(kind) || (op !== 'converge' && op !== 'delete') || args.length !== 2) {
    throw new UsageError(`usage: hoststore handle <${KIND_NAMES.join('|')}> <converge|delete>`);
  }
  const rawSpec = env.HOSTSTORE_SPEC;
  // A remote project's provisioners name their host: the same handler runs there, this machine is not touched.
  // (On the host itself, `options.host` is set and HOSTSTORE_HOST is never forwarded: the call runs there.)
  const connection = options.host === undefined ? env[HOST_ENV] : undefined;
  if (connection !== undefined && connection !== '') {
    const input = parseSpecJson(rawSpec);
    return (await import('../remote/forward-handle.js')).forwardHandle(kind, op, env, input, connection);
  }
  const here = options.host;
  // A project's manifest converges the whole project through the engine, in this one process.
  if (kind === 'project' && op === 'converge') {
    assertForHere(parseSpecJson(rawSpec), here);
    return (await import('./converge-project.js')).convergeProject(rawSpec, env);
  }
  // The project's retirement carrier: destroyed with the stack, or when the project moves.
  if (kind === 'project' && op === 'delete') {
    const input = parseSpecJson(rawSpec);
    const madeOn = hostOf(input);
    if (madeOn !== here) {
      process.stdout.write(`${retainedLine(kind, input, madeOn, here)}\n`);
      return 0;
    }
    return (await import('./retire-project.js')).retireProject(rawSpec, env);
  }
  const handler = await loadHandler(kind);
  const input = parseSpecJson(rawSpec);
  if (op === 'delete') {
    // Made for another host (the project moved): retained where it is, untouched (see ../remote/host-moved.ts).
    const madeOn = hostOf(input);
    if (madeOn !== here) {
      process.stdout.write(`${retainedLine(kind, input, madeOn, here)}\n`);
      return 0;
    }
    const identity = handler.validateIdentity(input);
    // The identity carrier's delete says which stack it runs for, so a borrower never deletes the owner's.
    await remove(handler, makeContext(handler.rootOf(identity), { stack: env.HOSTSTORE_STACK || undefined }), identity);
    return 0;
  }
  assertForHere(input, here);
  const spec = handler.validate(input);
  await converge(handler, makeContext(handler.rootOf(spec)), spec);
  return 0;
}

/** A spec made for another host (for one, on the deploying machine; for none, on a host) is never converged here. */
function assertForHere(input: unknown, here: string | undefined): void {
  const madeFor = hostOf(input);
  if (madeFor === here) return;
  const forWhat = madeFor === undefined ? 'the machine that runs the deploy (it names no host)' : `host ${madeFor}`;
  throw new SpecError(
    here === undefined
      ? `HOSTSTORE_SPEC is for host ${madeFor}, but ${HOST_ENV} is not set, so it would be converged on this machine: run cdktf synth again and deploy the stack as synthesized`
      : `HOSTSTORE_SPEC is for ${forWhat}, but it reached host ${here}: nothing was done; run cdktf synth again and deploy the stack as synthesized`,
  );
}
