/**
 * `hoststore handle <kind> <op>`: what Terraform's local-exec provisioners run. The spec arrives as JSON
 * in HOSTSTORE_SPEC (never through a shell), is parsed with the shared schema, then converged or deleted.
 */
import { SpecError, UsageError } from '../errors.js';
import { converge, makeContext, remove } from '../handlers/handler.js';
import { loadHandler } from '../handlers/by-kind.js';
import { KIND_NAMES, type KindName } from '../../src/kinds.js';

function isKind(kind: string | undefined): kind is KindName {
  return (KIND_NAMES as readonly (string | undefined)[]).includes(kind);
}

/** A spec is one flat object of strings; anything nested deeper is not one, and is refused before anything walks it. */
const MAX_SPEC_DEPTH = 2;

export function parseSpecJson(raw: string | undefined): unknown {
  if (raw === undefined || raw === '')
    throw new SpecError('no spec: HOSTSTORE_SPEC is empty (this command is run by the synthesized provisioners)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    // V8's parser recurses: deep enough nesting overflows its stack (a RangeError) rather than failing to parse.
    const why = error instanceof RangeError ? 'it nests too deep to read' : (error as Error).message;
    throw new SpecError(
      `HOSTSTORE_SPEC is not JSON (${why}): a spec is one JSON object of strings, as the synthesized provisioners write it (got ${JSON.stringify(raw.slice(0, 60))}${raw.length > 60 ? '...' : ''})`,
    );
  }
  const depth = nestingDepth(parsed, MAX_SPEC_DEPTH);
  if (depth > MAX_SPEC_DEPTH) {
    throw new SpecError(
      `HOSTSTORE_SPEC nests more than ${MAX_SPEC_DEPTH} levels deep: a spec is one JSON object of strings, as the synthesized provisioners write it (got ${JSON.stringify(raw.slice(0, 60))}${raw.length > 60 ? '...' : ''})`,
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

export async function handle(args: string[], rawSpec: string | undefined): Promise<number> {
  const [kind, op] = args;
  if (!isKind(kind) || (op !== 'converge' && op !== 'delete') || args.length !== 2) {
    throw new UsageError(`usage: hoststore handle <${KIND_NAMES.join('|')}> <converge|delete>`);
  }
  // A project's manifest converges the whole project through the engine, in this one process.
  if (kind === 'project' && op === 'converge')
    return (await import('./converge-project.js')).convergeProject(rawSpec, process.env);
  const handler = await loadHandler(kind);
  const input = parseSpecJson(rawSpec);
  if (op === 'delete') {
    const identity = handler.validateIdentity(input);
    // The identity carrier's delete says which stack it runs for, so a borrower never deletes the owner's.
    await remove(
      handler,
      makeContext(handler.rootOf(identity), { stack: process.env.HOSTSTORE_STACK || undefined }),
      identity,
    );
    return 0;
  }
  const spec = handler.validate(input);
  await converge(handler, makeContext(handler.rootOf(spec)), spec);
  return 0;
}
