/**
 * `hoststore remote`'s `read` command, on the storage host: what `list`, `status`, `lease-list` or
 * `snapshot list` report on the roots the request names, written on stdout as their --json prints it (the
 * same data, read by the same code: ../commands/read-data.ts); the sender renders it.
 *
 * `dashboard` answers what the dashboard shows of the roots (../dashboard/host-data.ts HostData: recorded states only).
 *
 * Request: `{ hoststore, command: "read", op: "list" | "status" | "lease-list" | "snapshot-list" | "history" | "dashboard",
 * roots: ["/abs/root", ...], json: true, name?: "storage name", project?: "project", verify?: boolean,
 * space?: boolean, since?: "ISO time" (history) }`. `list` with `space: true` answers `{ entries, roots }`: the entries and each root's space.
 */
import { nameRule, projectNameRule, rootRule } from '../../src/schema.js';
import { HoststoreError, SpecError } from '../errors.js';

const OPS = ['list', 'status', 'lease-list', 'snapshot-list', 'history', 'dashboard'] as const;
/** The ops of the read commands (read-hosts.ts); `dashboard` is the dashboard's own. */
export type ReadOp = Exclude<(typeof OPS)[number], 'dashboard'>;

export interface ReadRequest {
  readonly op: ReadOp | 'dashboard';
  readonly roots: string[];
  readonly json: true;
  readonly name?: string;
  readonly project?: string;
  readonly verify?: boolean;
  readonly space?: boolean;
  /** history: events at or after this time. */
  readonly since?: string;
}

/** The request's fields, each checked; a problem is one SpecError naming the field, the rule and the value. */
export function readRequest(request: Record<string, unknown>): ReadRequest {
  const { op, roots, json, name, project, verify, space, since } = request;
  if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op))
    throw new SpecError(`read request: op must be one of ${OPS.join(', ')} (got ${JSON.stringify(op)})`);
  if (!Array.isArray(roots) || roots.length === 0)
    throw new SpecError(`read request: roots must be a non-empty list of hoststore roots`);
  for (const root of roots) {
    const problem = rootRule(root);
    if (problem)
      throw new SpecError(`read request: root ${JSON.stringify(root)} is not a usable hoststore root: it ${problem}`);
  }
  // The answer is the data (its JSON); the text is made where it is shown.
  if (json !== true) throw new SpecError(`read request: json must be true (a host answers with data)`);
  if (name !== undefined && nameRule(name))
    throw new SpecError(`read request: name ${nameRule(name)} (got ${JSON.stringify(name)})`);
  if (op === 'status' && name === undefined) throw new SpecError(`read request: status needs the storage's name`);
  if (project !== undefined && projectNameRule(project))
    throw new SpecError(`read request: project ${projectNameRule(project)} (got ${JSON.stringify(project)})`);
  if (verify !== undefined && typeof verify !== 'boolean')
    throw new SpecError(`read request: verify must be true or false`);
  if (space !== undefined && typeof space !== 'boolean')
    throw new SpecError(`read request: space must be true or false`);
  if (since !== undefined && (typeof since !== 'string' || Number.isNaN(Date.parse(since)) || since.length > 40))
    throw new SpecError(`read request: since must be an ISO time (got ${JSON.stringify(since)})`);
  return {
    op: op as ReadOp | 'dashboard',
    roots: roots as string[],
    json: true,
    name: name as string | undefined,
    project: project as string | undefined,
    verify: verify as boolean | undefined,
    space: space as boolean | undefined,
    since: since as string | undefined,
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
  const data = await import('../commands/read-data.js');
  const scope = { root: request.roots[0], roots: request.roots, project: request.project };
  const answer = (value: unknown, code = 0) => (process.stdout.write(`${JSON.stringify(value)}\n`), code);
  switch (request.op) {
    case 'list':
      return answer(request.space ? data.listWithSpace(scope) : data.listEntries(scope));
    case 'status':
      return answer(data.statusEntry(request.name!, scope));
    case 'lease-list':
      return answer(data.leaseEntries(scope));
    case 'snapshot-list': {
      // Progress (a snapshot hashed again) goes to stderr, as with --json here.
      const entries = await data.snapshotEntries(scope, request.name, request.verify ?? false, (line) =>
        process.stderr.write(`${line}\n`),
      );
      return answer(entries, entries.every((s) => s.intact) ? 0 : 1);
    }
    case 'dashboard':
      return answer((await import('../dashboard/host-data.js')).readLocalHost('local', request.roots));
    case 'history': {
      // Unreadable journal files and skipped lines go to stderr: the sender shows them under the host's name.
      const { historyEntries } = await import('../commands/history-data.js');
      const since = request.since === undefined ? undefined : new Date(request.since);
      return answer(historyEntries(scope, request.name, since, (line) => process.stderr.write(`${line}\n`)));
    }
  }
}
