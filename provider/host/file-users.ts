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
  for (const pid of fs.readdirSync('/proc').filter((name) => /^[0-9]+$/.test(name) && Number(name) !== process.pid)) {
    const how = usedVia(pid, target, options.tree);
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

function usedVia(pid: string, target: string, tree: boolean): string | undefined {
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
  }
  try {
    const maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
    if (
      maps.split('\n').some((line) => {
        const file = line.split(/\s+/).slice(5).join(' ');
        return file !== '' && inside(target, file, tree);
      })
    )
      return 'maps';
  } catch {
    /* gone */
  }
  return undefined;
}
