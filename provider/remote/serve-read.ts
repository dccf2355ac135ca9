/**
 * `hoststore remote`'s `read` command, on the storage host: runs `list`, `status`, `lease-list` or
 * `snapshot list` on the roots the request names, exactly as those commands run locally, so its stdout is
 * what they print (their --json when `json` is true).
 *
 * Request: `{ hoststore, command: "read", op: "list" | "status" | "lease-list" | "snapshot-list",
 * roots: ["/abs/root", ...], json: boolean, name?: "storage name", project?: "project", verify?: boolean }`.
 */
import { nameRule, projectNameRule, rootRule } from '../../src/schema.js';
import { HoststoreError, SpecError } from '../errors.js';
import type { GlobalOptions } from '../cli/options.js';

const OPS = ['list', 'status', 'lease-list', 'snapshot-list'] as const;
export type ReadOp = (typeof OPS)[number];

export interface ReadRequest {
  readonly op: ReadOp;
  readonly roots: string[];
  readonly json: boolean;
  readonly name?: string;
  readonly project?: string;
  readonly verify?: boolean;
}

/** The request's fields, each checked; a problem is one SpecError naming the field, the rule and the value. */
export function readRequest(request: Record<string, unknown>): ReadRequest {
  const { op, roots, json, name, project, verify } = request;
  if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op))
    throw new SpecError(`read request: op must be one of ${OPS.join(', ')} (got ${JSON.stringify(op)})`);
  if (!Array.isArray(roots) || roots.length === 0)
    throw new SpecError(`read request: roots must be a non-empty list of hoststore roots`);
  for (const root of roots) {
    const problem = rootRule(root);
    if (problem) throw new SpecError(`read request: root ${JSON.stringify(root)} is not a usable hoststore root: it ${problem}`);
  }
  if (typeof json !== 'boolean') throw new SpecError(`read request: json must be true or false`);
  if (name !== undefined && nameRule(name))
    throw new SpecError(`read request: name ${nameRule(name)} (got ${JSON.stringify(name)})`);
  if (op === 'status' && name === undefined) throw new SpecError(`read request: status needs the storage's name`);
  if (project !== undefined && projectNameRule(project))
    throw new SpecError(`read request: project ${projectNameRule(project)} (got ${JSON.stringify(project)})`);
  if (verify !== undefined && typeof verify !== 'boolean') throw new SpecError(`read request: verify must be true or false`);
  return {
    op: op as ReadOp,
    roots: roots as string[],
    json,
    name: name as string | undefined,
    project: project as string | undefined,
    verify: verify as boolean | undefined,
  };
}

/** Runs the read; its output goes to stdout (errors as one line on stderr); resolves to the command's exit status. */
export async function serve(request: Record<string, unknown>): Promise<number> {
  try {
    return await run(readRequest(request));
  } catch (error) {
    if (!(error instanceof HoststoreError)) throw error;
    process.stderr.write(`hoststore: ${error.message}\n`);
    return error.exitCode;
  }
}

async function run(request: ReadRequest): Promise<number> {
  // As a local read command checks each root (cli/options.ts assertReadable): a root whose pool is not mounted is refused.
  const { assertPoolMounted } = await import('../host/pool-guard.js');
  for (const root of request.roots) assertPoolMounted(root);
  const options: GlobalOptions = {
    root: request.roots[0],
    roots: request.roots,
    json: request.json,
    yes: false,
    force: false,
    project: request.project,
  };
  switch (request.op) {
    case 'list':
      return (await import('../commands/list.js')).list(options);
    case 'status':
      return (await import('../commands/list.js')).status(request.name!, options);
    case 'lease-list':
      return (await import('../commands/lease.js')).leaseList(options);
    case 'snapshot-list':
      return (await import('../commands/snapshot.js')).snapshot(['list', ...(request.name ? [request.name] : [])], {
        ...options,
        inPlace: false,
        dryRun: false,
        verify: request.verify ?? false,
      });
  }
}
