/**
 * The read commands (`list`, `status`, `lease-list`, `snapshot list`) of an app that reaches remote hosts:
 * each host runs the command on its roots (`read` requests, see ../remote/serve-read.ts; this machine's
 * part runs here), a bounded number at once; the text goes under a `host X:` heading per host, the --json
 * items each get `host`. A host that cannot be read is named, and the others are still shown.
 */
import type { GlobalOptions } from '../cli/options.js';
import { HoststoreError, UsageError } from '../errors.js';
import { DEFAULT_PARALLELISM, fleetError, oneLine, runBounded, type HostOutcome } from '../remote/fleet.js';
import { failureLine, request } from '../remote/host-request.js';
import type { ReadOp } from '../remote/serve-read.js';
import type { HostRoots } from './app-roots.js';

interface Extra {
  readonly name?: string;
  readonly verify?: boolean;
}

interface HostRead {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * This machine's part: the same command, run here, its stdout taken to be put under its heading. The
 * read commands print as they go; nothing else writes on stdout meanwhile (remote reads are not relayed).
 */
async function readHere(op: ReadOp, host: HostRoots, options: GlobalOptions, extra: Extra): Promise<HostRead> {
  const local: GlobalOptions = { ...options, root: host.roots[0], roots: host.roots, hosts: undefined };
  const write = process.stdout.write;
  let stdout = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stdout.write;
  try {
    let code: number;
    if (op === 'list') code = (await import('./list.js')).list(local);
    else if (op === 'status') code = (await import('./list.js')).status(extra.name!, local);
    else if (op === 'lease-list') code = (await import('./lease.js')).leaseList(local);
    else
      code = await (await import('./snapshot.js')).snapshot(['list', ...(extra.name ? [extra.name] : [])], {
        ...local,
        inPlace: false,
        dryRun: false,
        verify: extra.verify ?? false,
      });
    return { code, stdout, stderr: '' };
  } catch (error) {
    if (!(error instanceof HoststoreError)) throw error;
    return { code: error.exitCode, stdout, stderr: `hoststore: ${error.message}\n` };
  } finally {
    process.stdout.write = write;
  }
}

async function readOn(op: ReadOp, host: HostRoots, options: GlobalOptions, extra: Extra): Promise<HostRead> {
  if (!host.connection) return readHere(op, host, options, extra);
  return request(host.connection, 'read', {
    op,
    roots: host.roots,
    json: options.json,
    ...(extra.name === undefined ? {} : { name: extra.name }),
    ...(options.project === undefined ? {} : { project: options.project }),
    ...(extra.verify === undefined ? {} : { verify: extra.verify }),
  });
}

/** Runs the read on every host of `options.hosts` and prints them all; resolves to the exit status. */
export async function readHosts(op: ReadOp, options: GlobalOptions, extra: Extra = {}): Promise<number> {
  const hosts = options.hosts ?? [];
  const settled = await runBounded(hosts, options.parallelism ?? DEFAULT_PARALLELISM, (host) =>
    readOn(op, host, options, extra),
  );
  // A host answered when it printed its output (snapshot list exits 1 when a snapshot is damaged, and
  // still lists them); it failed when it printed nothing.
  const reads = settled.map((s, i) => {
    const host = hosts[i];
    if (s.status === 'rejected') return { host, error: oneLine(s.reason) };
    const run = s.value;
    for (const line of run.stderr.split('\n').filter(Boolean))
      if (run.stdout !== '' || run.code === 0) process.stderr.write(`${host.name}: ${line.replace(/^hoststore: /, '')}\n`);
    if (run.code !== 0 && run.stdout === '')
      return { host, error: host.connection ? failureLine(host.connection, run) : oneLine(run.stderr.replace(/^hoststore: /, '')) };
    return { host, run };
  });
  if (op === 'status') return statusOf(reads, options, extra.name!);
  const outcomes: HostOutcome[] = reads.map((r) =>
    r.run ? { host: r.host.name, state: 'ok', text: 'read' } : { host: r.host.name, state: 'failed', text: r.error! },
  );
  if (options.json) {
    const items = reads.flatMap((r) => (r.run ? jsonItems(r.host.name, r.run.stdout) : []));
    process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
  } else {
    process.stdout.write(
      `${reads.map((r) => `host ${r.host.name}:\n${r.run ? r.run.stdout.replace(/\n$/, '') : `failed: ${r.error}`}`).join('\n\n')}\n`,
    );
  }
  const failed = fleetError(outcomes, `hoststore ${op.replace('-list', ' list').replace('lease list', 'lease-list')}`);
  if (failed) {
    process.stderr.write(`hoststore: ${failed.message}\n`);
    return failed.exitCode;
  }
  return Math.max(0, ...reads.map((r) => r.run?.code ?? 0));
}

/** A host's --json output with `host` on each item. */
function jsonItems(host: string, stdout: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new HoststoreError(`host ${host} answered with output that is not JSON; is its hoststore the same version as this one?`);
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  return items.map((item) => ({ host, ...(item as object) }));
}

/** `status NAME`: the one host that has it (asked on every host); a name on several hosts needs --host. */
function statusOf(
  reads: ReadonlyArray<{ host: HostRoots; run?: HostRead; error?: string }>,
  options: GlobalOptions,
  name: string,
): number {
  const found = reads.filter((r) => r.run && r.run.code === 0);
  if (found.length > 1)
    throw new UsageError(
      `'${name}' names storage on ${found.length} hosts (${found.map((r) => r.host.name).join(', ')}); pick one with --host`,
    );
  const unread = reads.filter((r) => r.error !== undefined && !/no storage named/.test(r.error));
  if (found.length === 0)
    throw new HoststoreError(
      `no storage named '${name}' on ${reads.length === 1 ? 'the host' : 'the hosts'} of this app (${reads.map((r) => r.host.name).join(', ')})${unread.length ? `; not read: ${unread.map((r) => `${r.host.name} (${r.error})`).join(', ')}` : ''}`,
    );
  const [{ host, run }] = found;
  if (options.json) process.stdout.write(`${JSON.stringify(jsonItems(host.name, run!.stdout)[0], null, 2)}\n`);
  else process.stdout.write(`host ${host.name}:\n${run!.stdout}`);
  return 0;
}
