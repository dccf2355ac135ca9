/**
 * What must hold on this host before hoststore touches a backup repository: restic installed, and the
 * password and environment files root's alone. Only metadata is read (lstat, PATH): never a secret.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackupRepositoryWire } from '../../src/backup-spec.js';
import type { RepositoryRecord } from './records.js';
import { modeOf, ownerName } from '../host/root-trust.js';

export const RESTIC_MISSING =
  'restic is not installed on this host: install the Debian package restic (apt-get install restic)';

/**
 * The absolute path of the first executable `restic` in `searchPath` (PATH by default), or undefined. No
 * spawn. Relative and empty PATH entries are skipped: they mean the working directory, never a place to
 * find a program run as root.
 */
export function findRestic(searchPath: string | undefined = process.env.PATH): string | undefined {
  for (const dir of (searchPath ?? '').split(':')) {
    if (!dir.startsWith('/')) continue;
    const file = path.join(dir, 'restic');
    try {
      if (fs.statSync(file).isFile()) {
        fs.accessSync(file, fs.constants.X_OK);
        return file;
      }
    } catch {
      /* not in this directory */
    }
  }
  return undefined;
}

/** Why restic cannot be run from `searchPath` (PATH by default), or undefined when an executable is found. */
export function resticMissing(searchPath: string | undefined = process.env.PATH): string | undefined {
  return findRestic(searchPath) === undefined ? RESTIC_MISSING : undefined;
}

/**
 * Why `file` (`what`, for example "backup repository offsite's password file") must not be trusted with a
 * secret, or undefined when it may: it exists, is a regular file (not a symlink), is owned by root with no
 * access for group or others, and only root can replace it (every directory above, as written and as
 * resolved, owned by root and not writable by group or others; a root-owned sticky directory such as /tmp
 * is allowed, as there others cannot rename or remove root's entries). One line, with the fix.
 */
export function secretFileProblem(file: string, what: string): string | undefined {
  const at = `${what} ${file}`;
  if (!file.startsWith('/')) return `${at} is not an absolute path; fix: give the absolute path of a file on this host`;
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      return `${at} does not exist on this host; fix: create it (owned by root, mode 0600) or correct the path`;
    if (code === 'ENOTDIR') return `${at} does not exist on this host (a component of its path is not a directory)`;
    return `${at} cannot be examined: ${code ?? String(error)}`;
  }
  if (stat.isSymbolicLink()) {
    let target = '?';
    try {
      target = fs.readlinkSync(file);
    } catch {
      /* shown as ? */
    }
    return `${at} is a symlink (to ${target}), and hoststore follows none to a secret; fix: put the file itself at ${file} (owned by root, mode 0600)`;
  }
  if (!stat.isFile()) return `${at} is not a regular file; fix: put the file itself there (owned by root, mode 0600)`;
  if (stat.uid !== 0)
    return `${at} is owned by ${ownerName(stat.uid)}, not root (mode ${modeOf(stat)}), so someone other than root holds the secret; fix: chown root:root ${file} && chmod 600 ${file}`;
  if ((stat.mode & 0o077) !== 0)
    return `${at} is open to group or others (mode ${modeOf(stat)}), so others could read the secret; fix: chmod 600 ${file}`;
  for (const dir of directoriesAbove(file)) {
    const problem = directoryProblem(dir);
    if (problem)
      return `${at} could be replaced by someone other than root: the directory ${dir} above it ${problem}; fix: chown root:root ${dir} && chmod go-w ${dir}`;
  }
  return undefined;
}

/** The directories above `file` as written and, when a symlink is on the way, as resolved. */
function directoriesAbove(file: string): string[] {
  const lexical = ancestors(path.dirname(file));
  let real: string[] = [];
  try {
    real = ancestors(fs.realpathSync(path.dirname(file)));
  } catch {
    /* the lexical walk reports what is wrong */
  }
  return [...new Set([...lexical, ...real])];
}

function ancestors(dir: string): string[] {
  const parts = dir.split('/').filter(Boolean);
  return ['/', ...parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`)];
}

/** Why someone other than root could change what `dir` holds, or undefined. */
function directoryProblem(dir: string): string | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch (error) {
    return `cannot be examined (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
  // A symlink on the way is judged by the directory holding it (walked too) and by where it leads (walked too).
  if (stat.isSymbolicLink()) return undefined;
  const sticky = stat.isDirectory() && (stat.mode & 0o1000) !== 0;
  if (stat.uid !== 0) return `is not owned by root (owner ${ownerName(stat.uid)}, mode ${modeOf(stat)})`;
  if ((stat.mode & 0o022) !== 0 && !sticky)
    return `is writable by group or others (owner ${ownerName(stat.uid)}, mode ${modeOf(stat)})`;
  return undefined;
}

/** A repository as a spec carries it (wire) or as the host records it. */
export type RepositoryFiles =
  | Pick<RepositoryRecord, 'name' | 'passwordFile' | 'environmentFile'>
  | Pick<BackupRepositoryWire, 'name' | 'password_file' | 'environment_file'>;

/** One preflight problem and what it is about: `restic`, `password_file` or `environment_file`. */
export interface PreflightProblem {
  readonly field: 'restic' | 'password_file' | 'environment_file';
  readonly problem: string;
}

/** Every reason this host cannot open `repo` yet, each with what it is about (a plan shows it under that name). */
export function repositoryPreflightProblems(repo: RepositoryFiles, searchPath?: string): PreflightProblem[] {
  const passwordFile = 'passwordFile' in repo ? repo.passwordFile : repo.password_file;
  const environmentFile = 'passwordFile' in repo ? repo.environmentFile : repo.environment_file;
  const problems: PreflightProblem[] = [];
  const restic = resticMissing(searchPath ?? process.env.PATH);
  if (restic) problems.push({ field: 'restic', problem: restic });
  const password = secretFileProblem(passwordFile, `backup repository ${repo.name}'s password file`);
  if (password) problems.push({ field: 'password_file', problem: password });
  if (environmentFile !== undefined) {
    const environment = secretFileProblem(environmentFile, `backup repository ${repo.name}'s environment file`);
    if (environment) problems.push({ field: 'environment_file', problem: environment });
  }
  return problems;
}

/**
 * Every reason this host cannot open `repo` yet, each one line: restic missing, the password file and
 * the environment file (when there is one) not root's alone. Empty when all is well.
 */
export function repositoryPreflight(repo: RepositoryFiles, searchPath?: string): string[] {
  return repositoryPreflightProblems(repo, searchPath).map((p) => p.problem);
}
