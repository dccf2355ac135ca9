/**
 * The private directory holding the ssh_config files and OpenSSH's connection-sharing sockets: the caller's
 * own, 0700, never a symlink or another user's (a planted one would let them watch or hijack connections).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RefusedError } from '../errors.js';

/**
 * A socket path must fit sun_path (104 bytes on the BSDs, 108 on Linux; OpenSSH keeps to the smaller): the
 * directory, '/', the socket's name (ssh-config.ts: 20 hex digits and '.sock'; room kept for OpenSSH's 40-digit
 * %C) and the '.XXXXXXXXXXXXXXXX' suffix ssh adds while it sets a master up.
 */
const SOCKET_PATH_MAX = 104;
const SOCKET_NAME_LENGTH = 1 + 40 + 17;

function uid(): number {
  return process.getuid?.() ?? 0;
}

/**
 * What ssh_config would not take as one literal path in `ControlPath`: whitespace and quotes split or quote
 * the argument, `%` and `${` are expanded, a backslash escapes, `#` starts a comment.
 */
const NOT_LITERAL_IN_SSH_CONFIG = /[\s"'\\%$#\x00-\x1f\x7f]/;

/** Where to put it, best first: the user's runtime directory, then the temp directory, then /tmp. */
function candidates(): string[] {
  const list: string[] = [];
  const runtime = process.env.XDG_RUNTIME_DIR;
  if (runtime && path.isAbsolute(runtime)) list.push(path.join(runtime, 'hoststore-ssh'));
  list.push(path.join(os.tmpdir(), `hoststore-ssh-${uid()}`));
  list.push(`/tmp/hoststore-ssh-${uid()}`);
  return [...new Set(list)].filter((dir) => !NOT_LITERAL_IN_SSH_CONFIG.test(dir));
}

/**
 * `dir` exists as the caller's private directory (made 0700 if missing): true; false when it cannot be made
 * there (no such parent, not writable, a parent others control: try the next place); throws one line refusing
 * one that is not private.
 */
function ensurePrivate(dir: string): boolean {
  // A parent another user may rename things in (not theirs to share, not sticky) could swap the directory
  // after the checks below: not a place for it at all.
  try {
    const parent = fs.statSync(path.dirname(dir));
    const others = parent.uid !== uid() && parent.uid !== 0;
    const openToOthers = (parent.mode & 0o022) !== 0 && (parent.mode & 0o1000) === 0;
    if (!parent.isDirectory() || others || openToOthers) return false;
  } catch {
    return false;
  }
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EROFS' || code === 'ENOTDIR') return false;
    if (code !== 'EEXIST') throw error;
  }
  // lstat: a symlink planted in a shared temp directory must not be followed to a directory its owner controls.
  const stat = fs.lstatSync(dir);
  const problem = !stat.isDirectory()
    ? stat.isSymbolicLink()
      ? 'is a symlink'
      : 'is not a directory'
    : stat.uid !== uid()
      ? `belongs to uid ${stat.uid}, not to you (uid ${uid()})`
      : (stat.mode & 0o077) !== 0
        ? `has mode ${(stat.mode & 0o777).toString(8)}, which lets others in (must be 700)`
        : undefined;
  if (problem)
    throw new RefusedError(
      `${dir} ${problem}, so hoststore will not keep its ssh connections there (others could use or watch them); remove it, or set XDG_RUNTIME_DIR or TMPDIR to a directory of your own`,
    );
  return true;
}

let made: string | undefined;

/** The private directory (made and checked once a process), short enough for the sockets in it. */
export function controlDir(): string {
  if (made !== undefined) return made;
  const fits = candidates().filter((dir) => Buffer.byteLength(dir) + SOCKET_NAME_LENGTH < SOCKET_PATH_MAX);
  if (fits.length === 0)
    throw new RefusedError(
      `no directory for ssh's connection sockets is short enough (at most ${SOCKET_PATH_MAX - SOCKET_NAME_LENGTH - 1} bytes): set XDG_RUNTIME_DIR or TMPDIR to a shorter directory of your own`,
    );
  for (const dir of fits) if (ensurePrivate(dir)) return (made = dir);
  throw new RefusedError(
    `cannot make a private directory for ssh's connection sockets in any of ${fits.join(', ')}: set XDG_RUNTIME_DIR or TMPDIR to a writable directory of your own`,
  );
}
