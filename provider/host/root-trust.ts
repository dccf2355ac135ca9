/**
 * The root is a trust boundary. Before a change, hoststore checks (as sshd's StrictModes does) that only
 * root can alter the root, its ancestors and the directories it uses in it; every path it acts on comes
 * from the layout in src/schema.ts and is checked here to stay under the root with no symlink on the way.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  nameRule,
  projectNameRule,
  STORAGE_KINDS,
  directoryPath,
  imagePath,
  mountPathRule,
  replicaHostPath,
  type StorageKind,
} from '../../src/schema.js';
import { RefusedError } from '../errors.js';
import { lstatOrUndefined } from './files.js';

/** The directories of a root that hoststore uses, checked before every change. */
export const ROOT_DIRECTORIES = ['registry', 'disks', 'projects', 'staging', 'snapshots'] as const;

/** Below these only root enters; what services traverse to reach their mounts (`projects/<p>/services`) is 0755. */
const PRIVATE_MODE = 0o700;
const TRAVERSABLE_MODE = 0o755;

/** `65534 (nobody)`: the uid and, when /etc/passwd names it, its user (read only on the refusal path). */
export function ownerName(uid: number): string {
  try {
    const line = fs
      .readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(uid));
    return line ? `${line.split(':')[0]} (uid ${uid})` : `uid ${uid}`;
  } catch {
    return `uid ${uid}`;
  }
}

export function modeOf(stat: fs.Stats): string {
  return (stat.mode & 0o7777).toString(8).padStart(4, '0');
}

function refuseSymlink(file: string, what: string): never {
  let target = '?';
  try {
    target = fs.readlinkSync(file);
  } catch {
    /* shown as ? */
  }
  throw new RefusedError(
    `refusing to use ${what} ${file}: it is a symlink (to ${target}), and hoststore follows no symlink under or above its root; replace it with a real directory owned by root (or use the real path as the root)`,
  );
}

/**
 * Refuses `file` unless only root can change it: owned by root and not writable by group or others. An
 * ancestor of the root may also be a root-owned sticky directory (like /tmp), where others cannot rename
 * or remove root's entries.
 */
function requireRootOwned(file: string, stat: fs.Stats, what: string, options: { stickyOk?: boolean } = {}): void {
  if (stat.isSymbolicLink()) refuseSymlink(file, what);
  const sticky = (stat.mode & 0o1000) !== 0 && stat.isDirectory();
  const writableByOthers = (stat.mode & 0o022) !== 0;
  if (stat.uid === 0 && (!writableByOthers || (options.stickyOk && sticky))) return;
  const why = stat.uid !== 0 ? 'is not owned by root' : 'is writable by group or others';
  throw new RefusedError(
    `refusing to use ${what} ${file}: it ${why} (owner ${ownerName(stat.uid)}, mode ${modeOf(stat)}), so someone other than root could change what hoststore trusts; fix: chown root:root ${file} && chmod go-w ${file}`,
  );
}

/**
 * Checks the root before a change: its ancestors (root-owned, not writable by others unless sticky, no
 * symlinks), the root itself and each directory hoststore uses in it that exists (registry/, disks/,
 * projects/ and each project's directories, staging/, snapshots/, the lock). A handful of lstat calls;
 * nothing is walked. Throws a RefusedError naming the path, its owner and mode and the fix.
 */
export function checkRootTrust(root: string): void {
  const parts = root.split('/').filter(Boolean);
  let current = '/';
  requireRootOwned(current, fs.lstatSync(current), "the root's ancestor", { stickyOk: true });
  for (const part of parts.slice(0, -1)) {
    current = path.join(current, part);
    const stat = lstatOrUndefined(current);
    // A missing ancestor is made by hoststore itself (root-owned, 0755), like the root.
    if (!stat) return;
    requireRootOwned(current, stat, "the root's ancestor", { stickyOk: true });
    if (!stat.isDirectory())
      throw new RefusedError(`refusing to use the root ${root}: its ancestor ${current} is not a directory`);
  }
  const rootStat = lstatOrUndefined(root);
  if (!rootStat) return;
  requireRootOwned(root, rootStat, 'the hoststore root');
  if (!rootStat.isDirectory()) throw new RefusedError(`refusing to use the root ${root}: it is not a directory`);
  for (const dir of ROOT_DIRECTORIES) checkDirectory(root, `${root}/${dir}`);
  const lock = `${root}/registry/lock`;
  const lockStat = lstatOrUndefined(lock);
  if (lockStat) {
    // Its type (a directory or symlink planted there) is judged by the lock itself, with its own fix.
    requireRootOwned(lock, lockStat, 'the lock');
  }
  for (const project of readdirOrEmpty(`${root}/projects`)) {
    const dir = `${root}/projects/${project}`;
    if (!checkDirectory(root, dir)) continue;
    for (const sub of ['volumes', 'directories', 'services']) checkDirectory(root, `${dir}/${sub}`);
  }
}

/** Checks one directory of the root when it exists; true when it is there. */
function checkDirectory(root: string, dir: string): boolean {
  const stat = lstatOrUndefined(dir);
  if (!stat) return false;
  requireRootOwned(dir, stat, 'the hoststore directory');
  if (!stat.isDirectory())
    throw new RefusedError(
      `refusing to use ${dir}: it is not a directory, and hoststore keeps its ${path.basename(dir)} there; move it out of the root ${root}`,
    );
  return true;
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Whether `file` is lexically `root` + '/' + something, already normalized (no `..`, `.`, `//`). */
function lexicallyInside(root: string, file: string): boolean {
  return file.startsWith(`${root}/`) && path.posix.normalize(file) === file && !file.endsWith('/');
}

/**
 * Returns `file` (a path from the layout) after checking that it stays under `root` and that no
 * component below the root is a symlink, and that the directories on the way are root's alone. A
 * component that does not exist yet ends the check: hoststore makes it. Throws a RefusedError otherwise.
 */
export function checkInsideRoot(root: string, file: string): string {
  if (!lexicallyInside(root, file))
    throw new RefusedError(`refusing to use ${file}: it is not a normalized path inside the root ${root}`);
  const parts = file.slice(root.length + 1).split('/');
  let current = root;
  for (let i = 0; i < parts.length; i += 1) {
    current = `${current}/${parts[i]}`;
    const stat = lstatOrUndefined(current);
    if (!stat) break;
    if (stat.isSymbolicLink()) refuseSymlink(current, 'the path');
    if (i < parts.length - 1) {
      if (!stat.isDirectory()) throw new RefusedError(`refusing to use ${file}: ${current} is not a directory`);
      requireRootOwned(current, stat, 'the hoststore directory');
    }
  }
  return file;
}

/**
 * Makes `dir` (under the root, from the layout) and what is missing above it, one component at a time,
 * each checked as it goes: 0755 for what services traverse (the root, projects/, projects/<p>/ and
 * everything under services/), 0700 for the rest (registry, images, snapshots, staging).
 */
export function makeRootDirectory(root: string, dir: string): string {
  makeRoot(root);
  checkInsideRoot(root, dir);
  let current = root;
  const parts = dir.slice(root.length + 1).split('/');
  for (let i = 0; i < parts.length; i += 1) {
    current = `${current}/${parts[i]}`;
    const traversable = parts[0] === 'projects' && (i <= 1 || parts[2] === 'services');
    try {
      fs.mkdirSync(current, { mode: traversable ? TRAVERSABLE_MODE : PRIVATE_MODE });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const stat = fs.lstatSync(current);
    if (stat.isSymbolicLink()) refuseSymlink(current, 'the path');
    if (!stat.isDirectory()) throw new RefusedError(`refusing to use ${dir}: ${current} is not a directory`);
  }
  return dir;
}

/** Makes the root (0755: services traverse it) and its missing ancestors; checks what was there. */
export function makeRoot(root: string): void {
  if (lstatOrUndefined(root)) return;
  checkRootTrust(root);
  fs.mkdirSync(root, { recursive: true, mode: TRAVERSABLE_MODE });
  checkRootTrust(root);
}

/**
 * Why an existing image must not be adopted, or undefined when it may: hoststore mounts it as root, so
 * it must be root's alone (a regular file, owned by root, not writable by group or others, one link).
 */
export function imageTrustProblem(stat: fs.Stats): string | undefined {
  if (stat.isSymbolicLink()) return 'is a symlink';
  if (!stat.isFile()) return 'is not a regular file';
  if (stat.uid !== 0) return `is owned by ${ownerName(stat.uid)}, not root (mode ${modeOf(stat)})`;
  if ((stat.mode & 0o022) !== 0)
    return `is writable by group or others (owner ${ownerName(stat.uid)}, mode ${modeOf(stat)})`;
  if (stat.nlink > 1) return `has ${stat.nlink} hard links, so another name could change it`;
  return undefined;
}

/**
 * Where a storage named in a registry record lives: computed by the layout from the record's kind,
 * project and name (each checked against the rules the specs obey), never its recorded `path`.
 */
export function recordedStoragePath(root: string, record: { kind: unknown; project: unknown; name: unknown }): string {
  const kind = record.kind as StorageKind;
  if (!STORAGE_KINDS.includes(kind)) throw forged('kind', record.kind);
  const nameProblem = nameRule(record.name);
  if (nameProblem) throw forged('name', record.name);
  const name = record.name as string;
  if (kind !== 'disk' && projectNameRule(record.project)) throw forged('project', record.project);
  const project = record.project as string;
  return checkInsideRoot(
    root,
    kind === 'directory' ? directoryPath(root, project, name) : imagePath(root, kind, project, name),
  );
}

/** The host path a mount record stands for, computed from its project, service, replica and mount path. */
export function recordedHostPath(
  root: string,
  record: { project: unknown; service: unknown; replica: unknown; mountPath: unknown },
): string {
  if (projectNameRule(record.project)) throw forged('project', record.project);
  if (nameRule(record.service)) throw forged('service', record.service);
  if (!Number.isInteger(record.replica) || (record.replica as number) < 0) throw forged('replica', record.replica);
  if (mountPathRule(record.mountPath)) throw forged('mountPath', record.mountPath);
  const hostPath = replicaHostPath(
    root,
    record.project as string,
    record.service as string,
    record.replica as number,
    record.mountPath as string,
  );
  if (!lexicallyInside(root, hostPath)) throw forged('mountPath', record.mountPath);
  return hostPath;
}

/** A snapshot id is one plain path segment. */
export function snapshotIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string' || !/^[A-Za-z0-9._@+=-]+$/.test(id) || id === '.' || id === '..')
    return 'must be one path segment of letters, digits and . _ @ + = -';
  return undefined;
}

function forged(field: string, value: unknown): RefusedError {
  return new RefusedError(
    `refusing a registry record whose ${field} is ${JSON.stringify(value)}: not a valid ${field} (the registry was changed by hand or forged); fix or remove that record`,
  );
}

/**
 * Returns the real path of `file` (a program a root cron entry runs) after checking that only root can
 * change it: the resolved file and every directory above it are owned by root and not writable by group
 * or others (a root-owned sticky directory such as /tmp may be an ancestor: what lies in it is checked
 * next, and others cannot rename or remove root's entries there). Throws a RefusedError naming the path,
 * its owner and mode and `fix` (a function of the offending path) otherwise.
 */
export function checkRootOnlyProgram(file: string, what: string, fix: (offending: string) => string): string {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch (error) {
    throw new RefusedError(
      `refusing to run ${what} ${file} as root: ${(error as NodeJS.ErrnoException).code ?? 'it cannot be resolved'}`,
    );
  }
  const parts = real.split('/').filter(Boolean);
  let current = '/';
  for (let i = 0; i <= parts.length; i += 1) {
    if (i > 0) current = path.join(current, parts[i - 1]);
    const stat = fs.lstatSync(current);
    const isFile = i === parts.length;
    const sticky = !isFile && stat.isDirectory() && (stat.mode & 0o1000) !== 0;
    const why =
      stat.uid !== 0
        ? 'is not owned by root'
        : (stat.mode & 0o022) !== 0 && !sticky
          ? 'is writable by group or others'
          : isFile && !stat.isFile()
            ? 'is not a regular file'
            : undefined;
    if (why)
      throw new RefusedError(
        `refusing to run ${what} ${real} as root from cron: ${current} ${why} (owner ${ownerName(stat.uid)}, mode ${modeOf(stat)}), so someone other than root could run code as root; fix: ${fix(current)}`,
      );
  }
  return real;
}
