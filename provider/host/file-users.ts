/**
 * Who uses a file or a directory tree outside hoststore, by scanning /proc: a process with it open,
 * mapped, or as its working directory or root (for a tree: anything under it). Import refuses what is in use.
 */
import * as fs from 'node:fs';

function inside(target: string, candidate: string, tree: boolean): boolean {
  return candidate === target || (tree && candidate.startsWith(`${target}/`));
}

function linkOf(file: string): string | undefined {
  try {
    return fs.readlinkSync(file);
  } catch {
    return undefined;
  }
}

/** `pid (command) how` for each process using `target` (a real path), other than this one. */
export function processesUsing(target: string, options: { tree: boolean }): string[] {
  const users: string[] = [];
  // A file is also known by its device and inode: a process that opened it through another path (a bind
  // mount, a container's mount namespace) shows that path in /proc, not `target`.
  const identity = options.tree ? undefined : identityOf(target);
  for (const pid of fs.readdirSync('/proc').filter((name) => /^[0-9]+$/.test(name) && Number(name) !== process.pid)) {
    const how = usedVia(pid, target, options.tree, identity);
    if (!how) continue;
    let command = '?';
    try {
      command = fs
        .readFileSync(`/proc/${pid}/comm`, 'utf8')
        .trim()
        .replace(/[^\x20-\x7e]/g, '?');
    } catch {
      /* gone */
    }
    users.push(`${pid} (${command}) ${how}`);
  }
  return users;
}

interface Identity {
  readonly dev: bigint;
  readonly ino: bigint;
}

function identityOf(file: string): Identity | undefined {
  try {
    const stat = fs.statSync(file, { bigint: true });
    return { dev: stat.dev, ino: stat.ino };
  } catch {
    return undefined;
  }
}

/** st_dev as glibc's makedev encodes it, from the major and minor numbers (hex) /proc/PID/maps shows. */
function deviceNumber(majorMinor: string): bigint | undefined {
  const match = /^([0-9a-f]+):([0-9a-f]+)$/.exec(majorMinor);
  if (!match) return undefined;
  const major = BigInt(`0x${match[1]}`);
  const minor = BigInt(`0x${match[2]}`);
  return ((major & 0xfffn) << 8n) | ((major & ~0xfffn) << 32n) | (minor & 0xffn) | ((minor & ~0xffn) << 12n);
}

function usedVia(pid: string, target: string, tree: boolean, identity: Identity | undefined): string | undefined {
  for (const link of ['cwd', 'root']) {
    const where = linkOf(`/proc/${pid}/${link}`);
    // Every process has root `/`: only a root inside the target counts, not one that contains it.
    if (where !== undefined && where !== '/' && inside(target, where, tree)) return link;
  }
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    const where = linkOf(`/proc/${pid}/fd/${fd}`);
    if (where !== undefined && inside(target, where, tree)) return `fd ${fd}`;
    if (identity && where !== undefined && where.startsWith('/')) {
      const opened = identityOf(`/proc/${pid}/fd/${fd}`);
      if (opened && opened.dev === identity.dev && opened.ino === identity.ino) return `fd ${fd}`;
    }
  }
  try {
    const maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
    if (
      maps.split('\n').some((line) => {
        const fields = line.split(/\s+/);
        const file = fields.slice(5).join(' ');
        if (file !== '' && inside(target, file, tree)) return true;
        return (
          identity !== undefined &&
          fields[4] !== undefined &&
          fields[4] !== '0' &&
          BigInt(fields[4]) === identity.ino &&
          deviceNumber(fields[3] ?? '') === identity.dev
        );
      })
    )
      return 'maps';
  } catch {
    /* gone */
  }
  return undefined;
}
