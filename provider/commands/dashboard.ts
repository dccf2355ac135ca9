/**
 * `hoststore dashboard`: checks where it is to listen and who may ask (a token off loopback), finds the
 * hosts and roots to show, serves the dashboard until SIGINT or SIGTERM, then closes it and exits 0.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { DashboardFlags } from '../cli/dashboard.js';
import { checkedRoot } from '../cli/options.js';
import { HoststoreError, UsageError } from '../errors.js';
import { environmentClock } from '../clock.js';
import type { HostRoots } from './app-roots.js';

export interface ListenAddress {
  /** What the server binds (`localhost` binds 127.0.0.1). */
  readonly bind: string;
  readonly port: number;
  readonly loopback: boolean;
  /** What the printed address and the Host check call it. */
  readonly shown: string;
  /** The Host header names answered on loopback. */
  readonly hostNames: readonly string[];
}

const LISTEN_FORMS =
  'give HOST:PORT, such as 127.0.0.1:7780, [::1]:7780 or localhost:7780 (port 1 to 65535, or 0 for any free one)';

/** `--listen`'s value, checked: one UsageError line saying what is wrong, the rule and the value. */
export function parseListen(value: string): ListenAddress {
  const bad = (why: string) => new UsageError(`--listen ${JSON.stringify(value)} ${why}; ${LISTEN_FORMS}`);
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  if (!match) throw bad('is not HOST:PORT');
  const port = Number(match[3]);
  if (port > 65535) throw bad(`has port ${port}, above 65535`);
  if (match[1] !== undefined) {
    if (!net.isIPv6(match[1])) throw bad(`has ${match[1]} in brackets, which is not an IPv6 address`);
    const loopback = match[1] === '::1' || /^(0{0,4}:){1,7}0{0,3}1$/.test(match[1]);
    return {
      bind: match[1],
      port,
      loopback,
      shown: `[${match[1]}]`,
      hostNames: loopback ? [`[${match[1]}]`, 'localhost'] : [],
    };
  }
  const host = match[2].toLowerCase();
  if (host === 'localhost')
    return { bind: '127.0.0.1', port, loopback: true, shown: 'localhost', hostNames: ['localhost', '127.0.0.1'] };
  if (!net.isIPv4(host))
    throw bad(`has host ${JSON.stringify(match[2])}, which is not an IPv4 address, [IPv6] or localhost`);
  const loopback = host.startsWith('127.');
  return { bind: host, port, loopback, shown: host, hostNames: loopback ? [host, 'localhost'] : [] };
}

/** The shortest token accepted: a guessable one would guard nothing. */
const MIN_TOKEN = 16;

/** The token from --token-file (root's alone, checked as a backup password file is) or HOSTSTORE_DASHBOARD_TOKEN. */
export async function readToken(tokenFile: string | undefined): Promise<string | undefined> {
  let token: string | undefined;
  let from: string;
  if (tokenFile !== undefined) {
    const { secretFileProblem } = await import('../backup/preflight.js');
    const file = path.resolve(tokenFile);
    const problem = secretFileProblem(file, 'the dashboard token file');
    if (problem) throw new UsageError(problem);
    token = fs.readFileSync(file, 'utf8').trim();
    from = `the token file ${file}`;
  } else {
    token = process.env.HOSTSTORE_DASHBOARD_TOKEN?.trim();
    from = 'HOSTSTORE_DASHBOARD_TOKEN';
    if (token === undefined || token === '') return undefined;
  }
  if (token.length < MIN_TOKEN || /\s/.test(token))
    throw new UsageError(
      `${from} holds a token of ${token.length} characters${/\s/.test(token) ? ' with spaces' : ''}; the rule: at least ${MIN_TOKEN} characters and no spaces; fix: write a random one, such as: openssl rand -hex 24`,
    );
  return token;
}

/** The hosts and roots to show: --root (one local root), --app's synth output, the app in this directory, else the default root. */
/** What the dashboard shows: the hosts and roots, and the synth output whose plan /plan shows (--app, or the app it runs in). */
export async function dashboardSource(flags: DashboardFlags): Promise<{ hosts: HostRoots[]; app?: string }> {
  if (flags.root !== undefined && flags.app !== undefined)
    throw new UsageError('--root and --app each choose what to show: give one of them');
  const { appHosts, appSynthOutput, synthOutputHosts } = await import('./app-roots.js');
  if (flags.app !== undefined) {
    const app = path.resolve(flags.app);
    return { hosts: synthOutputHosts(app), app };
  }
  const inApp =
    flags.root === undefined && process.env.HOSTSTORE_ROOT === undefined ? appHosts(process.cwd()) : undefined;
  // Inside a cdktf app its synth output gives the roots, and so the pending plan as well.
  if (inApp) return { hosts: inApp, app: appSynthOutput(process.cwd()) };
  return { hosts: [{ name: 'local', roots: [checkedRoot(flags.root)] }] };
}

export async function dashboard(flags: DashboardFlags): Promise<number> {
  const listen = parseListen(flags.listen);
  const token = await readToken(flags.tokenFile);
  if (!listen.loopback && token === undefined)
    throw new UsageError(
      `--listen ${flags.listen} is not a loopback address, so the dashboard needs a token: --token-file FILE (owned by root, mode 0600) or HOSTSTORE_DASHBOARD_TOKEN; nothing is listening`,
    );
  const { hosts: source, app } = await dashboardSource(flags);
  // A bad HOSTSTORE_NOW is refused here, in its own words, before anything listens.
  const now = environmentClock();
  const { assertPoolMounted } = await import('../host/pool-guard.js');
  for (const host of source) if (!host.connection) for (const root of host.roots) assertPoolMounted(root);
  const { parallelismOf } = await import('../remote/fleet.js');
  const { listenDashboard } = await import('../dashboard/server.js');
  const { allowedLoopbackUids } = await import('../dashboard/peer-user.js');
  let running;
  try {
    running = await listenDashboard(
      {
        source,
        app,
        hostNames: listen.loopback ? listen.hostNames : [],
        // Loopback is shared by every user of the host: only root and who started it are answered.
        peerUids: listen.loopback ? allowedLoopbackUids() : undefined,
        token,
        parallelism: parallelismOf(flags.parallelism),
        now,
      },
      listen.bind,
      listen.port,
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof HoststoreError || code === undefined) throw error;
    throw new HoststoreError(
      `cannot listen on ${flags.listen}: ${code === 'EADDRINUSE' ? 'the port is in use (another dashboard?); pick another with --listen' : code === 'EADDRNOTAVAIL' ? 'no interface of this host has that address' : (error as Error).message}`,
    );
  }
  process.stdout.write(`dashboard: http://${listen.shown}:${running.port}/ (read-only; Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await running.close();
  return 0;
}
