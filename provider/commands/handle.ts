/**
 * `hoststore handle <kind> <op>`: what Terraform's local-exec provisioners run. The spec arrives as JSON
 * in HOSTSTORE_SPEC (never through a shell), is parsed with the shared schema, then converged or deleted.
 */
import { HoststoreError, SpecError } from '../errors.js';
import { converge, makeContext, remove, type Handler } from '../handlers/handler.js';

const KINDS = ['storage', 'mount', 'snapshot-policy', 'project'] as const;
type Kind = (typeof KINDS)[number];

async function handlerFor(kind: Kind): Promise<Handler<any, any, any>> {
  switch (kind) {
    case 'storage':
      return (await import('../handlers/storage.js')).storageHandler;
    case 'mount':
      return (await import('../handlers/mount.js')).mountHandler;
    case 'snapshot-policy':
      return (await import('../handlers/snapshot-policy.js')).snapshotPolicyHandler;
    case 'project':
      return (await import('../handlers/project.js')).projectHandler;
  }
}

export function parseSpecJson(raw: string | undefined): unknown {
  if (raw === undefined || raw === '') throw new SpecError('no spec: HOSTSTORE_SPEC is empty (this command is run by the synthesized provisioners)');
  try {
    return JSON.parse(raw);
  } catch {
    throw new SpecError(`HOSTSTORE_SPEC is not JSON: ${raw.slice(0, 120)}`);
  }
}

export async function handle(args: string[], rawSpec: string | undefined): Promise<number> {
  const [kind, op] = args;
  if (!KINDS.includes(kind as Kind) || (op !== 'converge' && op !== 'delete') || args.length !== 2) {
    throw new HoststoreError(`usage: hoststore handle <${KINDS.join('|')}> <converge|delete>`, 2);
  }
  const handler = await handlerFor(kind as Kind);
  const input = parseSpecJson(rawSpec);
  if (op === 'delete') {
    const identity = handler.validateIdentity(input);
    // The identity carrier's delete says which stack it runs for, so a borrower never deletes the owner's.
    await remove(handler, makeContext(handler.rootOf(identity), { stack: process.env.HOSTSTORE_STACK || undefined }), identity);
    return 0;
  }
  const spec = handler.validate(input);
  await converge(handler, makeContext(handler.rootOf(spec)), spec);
  return 0;
}
