/**
 * `hoststore import PATH --name N`: brings an existing image file or directory under management, as
 * `terraform import` and LXD's import do, after the checks an adopt makes. It is moved (one rename, same
 * filesystem) or, with --copy, copied into the root's layout and recorded as retained, so the first stack
 * that declares that name adopts it. Its data is never changed; a refusal changes nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  directoryPath,
  imagePath,
  nameRule,
  projectNameRule,
  type Filesystem,
  type StorageKind,
} from '../../src/schema.js';
import { HoststoreError, RefusedError, UsageError } from '../errors.js';
import { run } from '../exec.js';
import { withRootLock } from '../registry/lock.js';
import { Registry } from '../registry/store.js';
import { checkInsideRoot, imageTrustProblem, makeRootDirectory } from '../host/root-trust.js';
import { readFilesystemSignature } from '../host/fs-signature.js';
import { loopsFor, loopsHolding } from '../host/loop.js';
import { readMountTable } from '../host/mounts.js';
import { syncDirectory } from '../host/files.js';
import { processesUsing } from '../host/file-users.js';
import { commandHint, shellWord } from '../command-hint.js';
import { hoststoreRootAround } from '../host/hoststore-root-around.js';
import { bindMountsOf } from '../host/bind-sources.js';
import { importTemporary, sweepImportLeftovers } from './import-leftovers.js';
import type { GlobalOptions } from '../cli.js';
import { environmentClock } from '../clock.js';
import { recordStorageEvent } from '../journal/storage-event.js';

export interface ImportOptions extends GlobalOptions {
  readonly name?: string;
  readonly kind?: string;
  /** Copy instead of moving (needed across filesystems); the original is left as it was. */
  readonly copy: boolean;
}

const KINDS: readonly StorageKind[] = ['disk', 'volume', 'directory'];
const GiB = 1024 ** 3;

export async function importStorage(args: string[], options: ImportOptions): Promise<number> {
  if (args.length !== 1 || options.name === undefined)
    throw new UsageError(
      'usage: hoststore import PATH --name NAME [--project P] [--kind disk|volume|directory] [--copy]',
    );
  const source = path.resolve(args[0]);
  const name = options.name;
  const nameProblem = nameRule(name);
  if (nameProblem)
    throw new UsageError(
      `--name ${JSON.stringify(name)} is not a storage name: it ${nameProblem}; for example --name pg-data`,
    );
  if (options.project !== undefined && projectNameRule(options.project)) {
    throw new UsageError(
      `--project ${JSON.stringify(options.project)} is not a project name: it ${projectNameRule(options.project)}`,
    );
  }
  if (options.kind !== undefined && !KINDS.includes(options.kind as StorageKind)) {
    throw new UsageError(`--kind must be disk, volume or directory (got ${JSON.stringify(options.kind)})`);
  }
  return withRootLock(options.root, { holder: `hoststore import ${name}` }, async () => {
    // Under the lock no other import runs: a temporary left beside a target is a killed import's.
    await sweepImportLeftovers(options.root, { locked: true });
    const found = await checkSource(source, options.root);
    const kind = (options.kind as StorageKind | undefined) ?? (found.directory ? 'directory' : 'disk');
    if (found.directory !== (kind === 'directory')) {
      throw new RefusedError(
        `refusing to import ${shown(source)} as a ${kind}: it is a ${found.directory ? 'directory (import it as --kind directory)' : 'file (a directory volume is a directory)'}`,
      );
    }
    const project = options.project ?? '';
    if (kind !== 'disk' && project === '')
      throw new UsageError(
        `a ${kind} belongs to a project: pass --project P (the StorageProject that will declare it)`,
      );
    const filesystem = found.directory ? undefined : filesystemOf(source, kind);
    const registry = new Registry(options.root);
    const target = checkInsideRoot(
      options.root,
      kind === 'directory' ? directoryPath(options.root, project, name) : imagePath(options.root, kind, project, name),
    );
    const taken = registry.storage(kind, project, name);
    if (taken || fs.lstatSync(target, { throwIfNoEntry: false })) {
      throw new RefusedError(
        `refusing to import ${shown(source)} as ${kind} ${name}: ${kind} ${name}${kind === 'disk' ? '' : ` of project ${project}`} already exists (${target}); import it under another name (see ${commandHint(options.root, 'list')})`,
      );
    }
    const crossing = deviceOf(source) !== deviceOf(nearestExisting(path.dirname(target)));
    if (crossing && !options.copy) {
      throw new RefusedError(
        `refusing to move ${shown(source)} into ${options.root}: they are on different filesystems, so it cannot be moved in one rename; pass --copy to copy it (the original is left as it is), or move it onto the root's filesystem first`,
      );
    }
    // Moved in, a path bound elsewhere would go on writing into the root; a copy leaves the original where it was.
    if (!crossing) checkNotBound(source);
    makeRootDirectory(options.root, path.dirname(target));
    if (crossing)
      await copyIn(source, target, found.directory, found.stat, () =>
        sameFile(found.stat, fs.lstatSync(source, { throwIfNoEntry: false })),
      );
    else {
      fs.renameSync(source, target);
      // In a directory others may write, the path could name another file by now: what moved must be what was checked.
      if (!sameFile(found.stat, fs.lstatSync(target), { renamed: true })) {
        fs.renameSync(target, source);
        throw changedWhileImporting(source);
      }
    }
    syncDirectory(path.dirname(target));
    const now = new Date().toISOString();
    const stat = fs.statSync(target);
    // Retained with no owner: the first stack that declares this name adopts it (and its data).
    registry.putStorage({
      kind,
      name,
      project,
      stack: '',
      state: 'retained',
      shared: false,
      removalPolicy: 'retain',
      path: target,
      sizeGb: found.directory ? undefined : Math.floor(stat.size / GiB),
      filesystem,
      createdAt: now,
      updatedAt: now,
      retainedAt: now,
    });
    recordStorageEvent(
      { root: options.root, now: environmentClock() },
      { kind, project, storage: name },
      'adopted',
      `imported ${shown(source)} (${crossing ? 'copied' : 'moved'} in; retained until a stack declares it)`,
      { source, copied: crossing, sizeGb: found.directory ? undefined : Math.floor(stat.size / GiB), filesystem },
    );
    process.stdout.write(
      `imported ${shown(source)} as ${kind} ${name}${project ? ` (project ${project})` : ''}: ${crossing ? 'copied' : 'moved'} to ${target}; declare ${kind === 'disk' ? `a Disk named '${name}'` : kind === 'directory' ? `a Volume named '${name}' with type 'directory'` : `a Volume named '${name}'`} to adopt it\n`,
    );
    return 0;
  });
}

/** The checks an adopt makes of what it will mount as root, and that nothing else has it: refused otherwise. */
async function checkSource(source: string, root: string): Promise<{ directory: boolean; stat: fs.Stats }> {
  const refuse = (why: string) => new RefusedError(`refusing to import ${shown(source)}: it ${why}`);
  const stat = fs.lstatSync(source, { throwIfNoEntry: false });
  if (!stat) throw new HoststoreError(`nothing to import at ${shown(source)}: no such file or directory`);
  if (stat.isSymbolicLink())
    throw refuse(
      `is a symlink (to ${shown(fs.readlinkSync(source))}); import the real path, after checking it is what you mean`,
    );
  const real = fs.realpathSync(source);
  if (real !== source) throw refuse(`lies under a symlink (its real path is ${shown(real)}); import the real path`);
  if (source === root || source.startsWith(`${root}/`))
    throw refuse(
      `is inside the root ${root} already; storage there is imported by declaring its name (see ${commandHint(root, 'list')})`,
    );
  if (root.startsWith(`${source}/`)) throw refuse(`contains the root ${root}`);
  const otherRoot = hoststoreRootAround(source);
  if (otherRoot !== undefined)
    throw refuse(
      `${otherRoot === source ? 'is' : 'lies inside'} the hoststore root ${shown(otherRoot)}, whose registry and lock own what is there; use that root's own commands: ${commandHint(otherRoot, 'snapshot restore ID --to NEW_NAME')} to copy storage out, or ${commandHint(otherRoot, 'delete NAME')}`,
    );
  const directory = stat.isDirectory();
  const problem = directory ? directoryTrustProblem(stat) : imageTrustProblem(stat);
  if (problem)
    throw refuse(
      `${problem}; hoststore mounts what it imports as root, so it imports only what is root's alone. Check its content, then: chown root:root ${shellWord(source)} && chmod go-w ${shellWord(source)}`,
    );
  const table = readMountTable();
  if (directory) {
    const mounted = table.filter((e) => e.target === source || e.target.startsWith(`${source}/`)).map((e) => e.target);
    if (mounted.length)
      throw refuse(
        `has a filesystem mounted ${mounted[0] === source ? 'on it' : `inside it (${mounted.map(shown).join(', ')})`}; unmount it first`,
      );
  } else {
    // By path (cheap) and by inode: attached through another path (a bind mount), sysfs names that path.
    const loops = [...new Set([...loopsFor(source), ...(await loopsHolding(stat))])].sort();
    if (loops.length)
      throw refuse(
        `is attached to ${loops.join(', ')}${
          table.some((e) => loops.includes(e.source))
            ? ` and mounted at ${table
                .filter((e) => loops.includes(e.source))
                .map((e) => shown(e.target))
                .join(', ')}`
            : ''
        }; unmount and detach it first (umount, losetup -d)`,
      );
  }
  const users = processesUsing(source, { tree: directory });
  if (users.length)
    throw refuse(
      `is in use by ${users.slice(0, 3).join(', ')}${users.length > 3 ? ` and ${users.length - 3} more` : ''}; stop them first`,
    );
  return { directory, stat };
}

/** Refuses a source bind-mounted (it, or a directory inside it) at another path. */
function checkNotBound(source: string): void {
  const bound = bindMountsOf(source, readMountTable()) ?? [];
  if (bound.length === 0) return;
  const [first] = bound;
  throw new RefusedError(
    `refusing to import ${shown(source)}: ${first.inside === '' ? 'it' : `its ${shown(first.inside)}`} is bind-mounted at ${shown(first.target)}${bound.length > 1 ? ` (and ${bound.length - 1} more)` : ''}, so writes there would land in the root once it is moved in; unmount that first (umount ${shellWord(first.target)}), or pass --copy to import a copy`,
  );
}

/**
 * The same file as when it was checked: device and inode, and (unless it was just renamed, which moves
 * it) its change time, so it was not written or chmodded since.
 */
function sameFile(checked: fs.Stats, now: fs.Stats | undefined, options: { renamed?: boolean } = {}): boolean {
  return (
    now !== undefined &&
    now.dev === checked.dev &&
    now.ino === checked.ino &&
    (options.renamed === true || now.ctimeMs === checked.ctimeMs)
  );
}

/** A path as messages show it: its control characters (a file name may hold any) escaped, never sent raw to a terminal. */
function shown(file: string): string {
  return file.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function changedWhileImporting(source: string): RefusedError {
  return new RefusedError(
    `refusing to import ${shown(source)}: it was replaced or changed while being imported; nothing was imported; check what is there, then run the import again`,
  );
}

function directoryTrustProblem(stat: fs.Stats): string | undefined {
  if (stat.uid !== 0)
    return `is owned by uid ${stat.uid}, not root (mode ${(stat.mode & 0o7777).toString(8).padStart(4, '0')})`;
  if ((stat.mode & 0o022) !== 0)
    return `is writable by group or others (mode ${(stat.mode & 0o7777).toString(8).padStart(4, '0')})`;
  return undefined;
}

/** The image's filesystem, read from its signature: one hoststore can mount, and ext4 for a volume. */
function filesystemOf(source: string, kind: StorageKind): Filesystem {
  const filesystem = readFilesystemSignature(source);
  if (!filesystem)
    throw new RefusedError(
      `refusing to import ${shown(source)}: it holds no ext4, xfs or btrfs filesystem, and hoststore will not format a file it did not make`,
    );
  if (kind === 'volume' && filesystem !== 'ext4')
    throw new RefusedError(
      `refusing to import ${shown(source)} as a volume: it holds ${filesystem}, and volumes are ext4; import it as a disk (--kind disk)`,
    );
  return filesystem;
}

function deviceOf(file: string): number {
  return fs.statSync(file).dev;
}

function nearestExisting(dir: string): string {
  let current = dir;
  while (!fs.existsSync(current)) current = path.dirname(current);
  return current;
}

/**
 * Copies across filesystems to a temporary beside the target, then renames it in: never a half copy at the
 * target. cp reads the source through a descriptor opened here (/proc/PID/fd/N), never by its path: a
 * directory on that path that others may rename could otherwise be swapped, while cp opens it, for one
 * holding a symlink to any file root can read, and swapped back before the source is looked at again.
 */
async function copyIn(
  source: string,
  target: string,
  directory: boolean,
  checked: fs.Stats,
  unchanged: () => boolean,
): Promise<void> {
  const temporary = importTemporary(target);
  fs.rmSync(temporary, { recursive: true, force: true });
  let fd: number;
  try {
    fd = fs.openSync(
      source,
      fs.constants.O_RDONLY |
        fs.constants.O_NOFOLLOW |
        fs.constants.O_NONBLOCK |
        (directory ? fs.constants.O_DIRECTORY : 0),
    );
  } catch {
    throw changedWhileImporting(source);
  }
  try {
    if (!sameFile(checked, fs.fstatSync(fd))) throw changedWhileImporting(source);
    const opened = `/proc/${process.pid}/fd/${fd}`;
    await run(
      'cp',
      directory
        ? ['-a', '--reflink=auto', `${opened}/.`, temporary]
        : ['--reflink=auto', '--sparse=always', '--preserve=mode,ownership,timestamps', opened, temporary],
      { concurrent: true },
    );
    // What was copied must not have been written during the copy, and the path must still name it.
    if (!sameFile(checked, fs.fstatSync(fd)) || !unchanged()) throw changedWhileImporting(source);
    await run('sync', ['--file-system', temporary]);
    fs.renameSync(temporary, target);
  } catch (error) {
    fs.rmSync(temporary, { recursive: true, force: true });
    throw error;
  } finally {
    fs.closeSync(fd);
  }
}
