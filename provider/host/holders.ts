/**
 * Which processes hold a mounted filesystem: any open file, working directory, root or mapped file on
 * it, found by scanning /proc (compared by device number, so paths in other mount namespaces count too).
 * An unmount of a held filesystem fails ("target is busy"), so callers refuse before changing anything.
 */
import * as fs from 'node:fs';

export interface Holder {
  readonly pid: number;
  readonly command: string;
  /** How it holds the filesystem: `cwd`, `root`, `fd 3`, `maps`. */
  readonly how: string;
}

function deviceOf(file: string): number | undefined {
  try {
    return fs.statSync(file).dev;
  } catch {
    return undefined;
  }
}

/** Linux dev_t as /proc/PID/maps writes it: `major:minor` in hex. */
function majorMinor(dev: number): string {
  const major = ((dev >> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
  const minor = (dev & 0xff) | ((dev >> 12) & ~0xff);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

function commandOf(pid: string): string {
  try {
    // A process names itself (prctl, /proc/self/comm): its control characters are escaped, so a holder
    // cannot add lines to a refusal or send escape codes to the terminal reading it.
    return fs
      .readFileSync(`/proc/${pid}/comm`, 'utf8')
      .replace(/\n$/, '')
      .replace(/[\u0000-\u001f\u007f-\u009f\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  } catch {
    return '?';
  }
}

/** The processes holding the filesystem mounted at `mountpoint` (other than this one). */
export function holdersOf(mountpoint: string): Holder[] {
  const dev = deviceOf(mountpoint);
  if (dev === undefined) return [];
  const mapsDev = majorMinor(dev);
  const holders: Holder[] = [];
  const pids = fs.readdirSync('/proc').filter((name) => /^[0-9]+$/.test(name) && Number(name) !== process.pid);
  for (const pid of pids) {
    const how = holdsVia(pid, dev, mapsDev);
    if (how) holders.push({ pid: Number(pid), command: commandOf(pid), how });
  }
  return holders;
}

function holdsVia(pid: string, dev: number, mapsDev: string): string | undefined {
  for (const link of ['cwd', 'root']) if (deviceOf(`/proc/${pid}/${link}`) === dev) return link;
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined; // gone, or a kernel thread
  }
  for (const fd of fds) if (deviceOf(`/proc/${pid}/fd/${fd}`) === dev) return `fd ${fd}`;
  try {
    // "7f..-7f.. r-xp 00000000 fd:01 1234  /path": the fourth field is the file's device.
    const maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
    if (maps.split('\n').some((line) => line.split(/\s+/)[3] === mapsDev && line.split(/\s+/)[4] !== '0'))
      return 'maps';
  } catch {
    /* gone */
  }
  return undefined;
}

export function describeHolders(holders: readonly Holder[]): string {
  return holders.map((h) => `pid ${h.pid} (${h.command}, ${h.how})`).join(', ');
}
