#!/usr/bin/env node
/**
 * The `hoststore` command: parses arguments and hands off to one command module. Command modules are
 * imported on demand so the handler path Terraform calls for every resource loads only what it needs.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_ROOT, rootRule } from '../src/schema.js';
import { HoststoreError, SpecError } from './errors.js';

const USAGE = `usage: hoststore <command> [options]

commands:
  list [--json]                        every storage on the root, its size, allocation, state, mounts and lease
  status NAME [--json]                 one storage in detail
  lease-list [--json]                  disk leases and their holders
  lease break NAME [--yes]             break a disk's lease whose holder's mount is gone
  delete NAME [--force] [--yes]        delete a storage and its data (refuses while mounted or leased unless --force)
  snapshot create NAME [--max-freeze-seconds N]
                                       a point-in-time, read-only snapshot; a mounted filesystem is frozen for
                                       the copy, at most N seconds (default 5), else the snapshot is refused
  snapshot list [NAME] [--verify] [--json]
                                       snapshots and their last verification; --verify hashes each again
                                       (one whose file changed since it was verified is hashed anyway)
  snapshot restore ID --to NEW_NAME    a new storage from a snapshot
  snapshot restore ID --in-place --yes replace a storage's content (unmounted, after a safety snapshot, remounted)
  snapshot delete ID [--force]         delete a snapshot (--force for the last copy of a storage deleted by policy)
  snapshot run-due                     take the snapshots whose schedule fired (cron runs it every minute), then prune
  snapshot prune [--dry-run]           delete what each policy's retention lets go
  import PATH --name N [--project P] [--kind disk|volume|directory] [--copy]
                                       bring an existing image or directory under management (moved into the
                                       root, or copied with --copy), retained until a stack declares N
  up                                   finish interrupted restores and grows, then re-attach and re-mount everything (after a reboot)
  pool create --size-gb N              make the root a btrfs pool in a sparse file beside it (<root>.pool.img): reflink snapshots
  pool status [--json]                 a pool's size, allocation, free space and whether snapshots are reflinks
  plan [--app cdktf.out] [--stack S] [--format text|markdown|json] [--detailed-exitcode] [--out FILE]
                                       what applying the synth output would do to the host and its data
  apply [FILE] [--app cdktf.out] [--auto-approve] [--allow-data-loss NAME ...]
                                       apply a plan (a saved FILE exactly, refused if the host changed since)
  diff --base OLD_OUT [--app NEW_OUT] [--format ...] [--detailed-exitcode]
                                       what a change to the code does, from two synth outputs, no host needed
  destroy [--app cdktf.out] [--auto-approve] [--allow-data-loss NAME ...]
                                       remove what the synth output declares, each by its removal policy
  handle <storage|mount|snapshot-policy|project> <converge|delete>
                                       the handler Terraform's provisioners run; spec in HOSTSTORE_SPEC (JSON)

options:
  --root DIR       the hoststore root (default: $HOSTSTORE_ROOT or ${DEFAULT_ROOT}): absolute, normalized, a
                   directory of its own (not /, a system directory, nor /tmp, /var, /home, /srv themselves);
                   read commands run in a cdktf app (cdktf.json) read the roots its synth output declares
  --project NAME   pick a project when a volume name exists in several
  --json           machine-readable output for read commands
  -h, --help       this text

exit codes: 0 ok, 1 failed, 2 bad usage or spec (plan/diff --detailed-exitcode: changes), 3 refused (would lose data or break a lease; a root others can change), 4 root locked`;

export interface GlobalOptions {
  readonly root: string;
  readonly json: boolean;
  readonly yes: boolean;
  readonly force: boolean;
  readonly project?: string;
  /** For read commands inside a cdktf app without --root: every root its synth output declares (`root` is the first). */
  readonly roots?: readonly string[];
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      root: { type: 'string' },
      project: { type: 'string' },
      json: { type: 'boolean', default: false },
      yes: { type: 'boolean', short: 'y', default: false },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      app: { type: 'string' },
      stack: { type: 'string' },
      format: { type: 'string' },
      'detailed-exitcode': { type: 'boolean', default: false },
      out: { type: 'string' },
      'auto-approve': { type: 'boolean', default: false },
      'allow-data-loss': { type: 'string', multiple: true },
      base: { type: 'string' },
      to: { type: 'string' },
      'in-place': { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      'size-gb': { type: 'string' },
      'max-freeze-seconds': { type: 'string' },
      verify: { type: 'boolean', default: false },
      name: { type: 'string' },
      kind: { type: 'string' },
      copy: { type: 'boolean', default: false },
    },
  });
  const [command, ...args] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const reads = ['list', 'status', 'lease-list'].includes(command) || (command === 'snapshot' && args[0] === 'list');
  // Inside a cdktf app, with no root given, a read looks at the roots the app's synth output declares.
  const roots = reads && values.root === undefined && process.env.HOSTSTORE_ROOT === undefined
    ? (await import('./commands/app-roots.js')).appRoots(process.cwd(), values.app) : undefined;
  const options: GlobalOptions = {
    root: roots?.[0] ?? checkedRoot(values.root), roots,
    json: values.json ?? false,
    yes: values.yes ?? false,
    force: values.force ?? false,
    project: values.project,
  };
  const engine = {
    app: values.app ?? 'cdktf.out', stack: values.stack, format: values.format ?? 'text',
    detailedExitcode: values['detailed-exitcode'] ?? false, out: values.out, autoApprove: values['auto-approve'] ?? false,
    allowDataLoss: values['allow-data-loss'] ?? [], base: values.base,
  };
  // Reads of a root whose pool is not mounted would show a bare directory (no storage, no snapshots).
  if (reads) {
    for (const root of roots ?? [options.root]) (await import('./host/pool-guard.js')).assertPoolMounted(root);
  }
  switch (command) {
    case 'plan':
      return (await import('./commands/plan.js')).plan(engine);
    case 'apply':
      return (await import('./commands/plan.js')).apply(args[0], engine);
    case 'diff':
      return (await import('./commands/plan.js')).diff(engine);
    case 'destroy':
      return (await import('./commands/plan.js')).destroy(engine);
    case 'handle':
      return (await import('./commands/handle.js')).handle(args, process.env.HOSTSTORE_SPEC);
    case 'list':
      return (await import('./commands/list.js')).list(options);
    case 'status':
      return (await import('./commands/list.js')).status(one(args, 'status NAME'), options);
    case 'lease-list':
      return (await import('./commands/lease.js')).leaseList(options);
    case 'lease':
      if (args[0] !== 'break') throw new HoststoreError(`unknown lease command '${args[0] ?? ''}'; use: hoststore lease break NAME`, 2);
      return (await import('./commands/lease.js')).leaseBreak(one(args.slice(1), 'lease break NAME'), options);
    case 'delete':
      return (await import('./commands/delete.js')).deleteStorage(one(args, 'delete NAME'), options);
    case 'up':
      return (await import('./commands/up.js')).up(options);
    case 'import':
      return (await import('./commands/import.js')).importStorage(args, { ...options, name: values.name, kind: values.kind, copy: values.copy ?? false });
    case 'pool':
      return (await import('./commands/pool.js')).pool(args, { ...options, sizeGb: values['size-gb'] });
    case 'snapshot':
      return (await import('./commands/snapshot.js')).snapshot(args, {
        ...options, to: values.to, inPlace: values['in-place'] ?? false, verify: values.verify, dryRun: values['dry-run'] ?? false, maxFreezeSeconds: values['max-freeze-seconds'],
      });
    default:
      throw new HoststoreError(`unknown command '${command}'; run hoststore --help`, 2);
  }
}

/** The root from --root, $HOSTSTORE_ROOT or the default, held to the rule a spec's `root` obeys. */
function checkedRoot(flag: string | undefined): string {
  const [root, from] = flag !== undefined ? [flag, '--root'] : process.env.HOSTSTORE_ROOT !== undefined ? [process.env.HOSTSTORE_ROOT, 'HOSTSTORE_ROOT'] : [DEFAULT_ROOT, 'the default root'];
  const problem = rootRule(root);
  if (problem) throw new SpecError(`${from} ${JSON.stringify(root)} is not a usable hoststore root: it ${problem}`);
  return root;
}

function one(args: string[], usage: string): string {
  if (args.length !== 1) throw new HoststoreError(`usage: hoststore ${usage}`, 2);
  return args[0];
}

// Output is only ever a report: when whoever reads it is gone (Terraform killed mid-provisioner, a closed
// pipe), writing fails with EPIPE, and that must not kill the handler halfway through a change on the host.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

const argv = process.argv.slice(2);
main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const code = reportError(error);
    // With --detailed-exitcode, 2 means "changes", so every error is 1 (as with terraform plan).
    process.exitCode = argv.includes('--detailed-exitcode') ? 1 : code;
  },
);

/** One clear line on stderr (plus a failed command's detail); a stack only for a bug. */
function reportError(error: unknown): number {
  const e = error as Error & { exitCode?: unknown; detail?: unknown; code?: string };
  if (error instanceof HoststoreError) {
    process.stderr.write(`hoststore: ${e.message}\n${error.detail ? `${error.detail}\n` : ''}`);
    return error.exitCode;
  }
  if (e && (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')) {
    process.stderr.write(`hoststore: ${e.message}\n`);
    return 2;
  }
  if (e && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) {
    process.stderr.write(`hoststore: ${e.message}\n`);
    return 1;
  }
  process.stderr.write(`hoststore: internal error (please report): ${e?.stack ?? String(error)}\n`);
  return 1;
}
