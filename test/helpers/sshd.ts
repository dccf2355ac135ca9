/**
 * A fake storage host for tests: a real OpenSSH sshd of its own on 127.0.0.x:<free port>, with a fresh host key
 * and client key, a known_hosts file for it, and a PATH holding a `hoststore` that runs this worktree's built CLI
 * (dist/provider/cli.js). `stop()` (call it from afterAll) kills the sshd and its sessions and removes what it made.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { HostConnection } from '../../src/host-connection.js';
import { CLI } from './cli.js';
import { cleanupRoot } from './host-fixture.js';

export interface SshHostOptions {
  /** Loopback address to listen on; default a random 127.0.0.x (x in 2..250), so two hosts differ. */
  readonly address?: string;
  /** The hoststore root the tests use on this host; default `<temp dir>/root`, cleaned up (mounts, loops) by stop(). */
  readonly root?: string;
  /** Put the `hoststore` wrapper into the host's PATH (default true); false: a host without hoststore. */
  readonly withHoststore?: boolean;
  /** More environment for every session on the host (values without whitespace or quotes). */
  readonly env?: Readonly<Record<string, string>>;
  /** More sshd_config lines (e.g. `MaxSessions 2`). */
  readonly sshdConfig?: readonly string[];
  /** Give the client key and known_hosts to this local user (for tests that connect as an unprivileged user). */
  readonly clientOwner?: { readonly uid: number; readonly gid: number };
}

export interface SshHost {
  /** How to reach it: user root, its port, the client key and the known_hosts file holding its key. */
  readonly connection: HostConnection & { readonly identityFile: string; readonly knownHostsFile: string };
  /** The hoststore root tests use on this host. */
  readonly root: string;
  /** The directory first on the host's PATH (holds the `hoststore` wrapper unless withHoststore is false). */
  readonly binDir: string;
  /** The temp directory holding everything this host is made of. */
  readonly dir: string;
  /** HOSTSTORE_CRON_DIR on the host (`<root>/cron.d`). */
  readonly cronDir: string;
  /** The host's public key line (`ssh-ed25519 AAAA...`), e.g. to write a known_hosts of your own. */
  readonly hostKey: string;
  /** sshd's log so far (LogLevel VERBOSE). */
  log(): string;
  /** `ssh -F <file>` config for this host as `hoststore-target`, e.g. to run a command on it by hand. */
  readonly sshConfigFile: string;
  /** Kills sshd and every session it started, cleans the root (if the helper made it) and removes the temp dir. */
  stop(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';

let lastOctet = 2 + Math.floor(Math.random() * 200);
function nextAddress(): string {
  lastOctet = lastOctet >= 250 ? 2 : lastOctet + 1;
  return `127.0.0.${lastOctet}`;
}

/** A port free on `address` now; sshd may still lose a race for it, which startSshHost retries. */
export function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves true once something on address:port speaks SSH (its banner), false on timeout. */
async function waitForBanner(address: string, port: number, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: address, port });
      let data = '';
      const done = (v: boolean) => {
        socket.destroy();
        resolve(v);
      };
      socket.setTimeout(1000, () => done(false));
      socket.on('data', (d) => {
        data += d.toString('latin1');
        if (data.startsWith('SSH-2.0-')) done(true);
      });
      socket.on('error', () => done(false));
      socket.on('close', () => done(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** All descendants of `pid` (from /proc), deepest last. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function keygen(file: string, comment: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { stdio: 'ignore' });
}

/** Starts a fake host; throws (with sshd's log) if sshd does not come up. */
export async function startSshHost(options: SshHostOptions = {}): Promise<SshHost> {
  // sshd's privilege separation directory (Debian's package makes it at boot via tmpfiles); left in place.
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const address = options.address ?? nextAddress();
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-sshd-')));
  const madeRoot = options.root === undefined;
  const root = options.root ?? path.join(dir, 'root');
  let child: ChildProcess | undefined;
  try {
    if (madeRoot) fs.mkdirSync(root, { mode: 0o755 });
    const binDir = path.join(dir, 'bin');
    const clientDir = path.join(dir, 'client');
    fs.mkdirSync(binDir, { mode: 0o755 });
    fs.mkdirSync(clientDir, { mode: 0o700 });
    const cronDir = path.join(root, 'cron.d');
    if (options.withHoststore !== false)
      fs.writeFileSync(path.join(binDir, 'hoststore'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`, {
        mode: 0o755,
      });
    const hostKeyFile = path.join(dir, 'host_ed25519_key');
    keygen(hostKeyFile, `hoststore-test-host-${address}`);
    const identityFile = path.join(clientDir, 'id_ed25519');
    keygen(identityFile, 'hoststore-test-client');
    const authorizedKeys = path.join(dir, 'authorized_keys');
    fs.copyFileSync(`${identityFile}.pub`, authorizedKeys);
    const hostKey = fs.readFileSync(`${hostKeyFile}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    const logFile = path.join(dir, 'sshd.log');
    const env = {
      PATH: `${binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      HOSTSTORE_CRON_DIR: cronDir,
      ...options.env,
    };
    for (const [key, value] of Object.entries(env))
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) || /[\s"'\\]/.test(value))
        throw new Error(`startSshHost: env ${key}=${JSON.stringify(value)} cannot go into sshd_config SetEnv`);

    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort(address);
      const knownHostsFile = path.join(clientDir, 'known_hosts');
      fs.writeFileSync(knownHostsFile, `[${address}]:${port} ${hostKey}\n`, { mode: 0o600 });
      const config = path.join(dir, 'sshd_config');
      fs.writeFileSync(
        config,
        [
          `ListenAddress ${address}:${port}`,
          `HostKey ${hostKeyFile}`,
          `PidFile ${path.join(dir, 'sshd.pid')}`,
          `AuthorizedKeysFile ${authorizedKeys}`,
          // The temp dir's ancestors include /tmp (world-writable, sticky), which StrictModes refuses.
          'StrictModes no',
          'PermitRootLogin prohibit-password',
          'AuthenticationMethods publickey',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          'PermitUserEnvironment no',
          'PrintMotd no',
          'PrintLastLog no',
          'X11Forwarding no',
          // In-process SFTP (no sftp-server binary to find): restic's sftp: backend reaches the host through it.
          'Subsystem sftp internal-sftp',
          'LogLevel VERBOSE',
          `SetEnv ${Object.entries(env)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`,
          ...(options.sshdConfig ?? []),
          '',
        ].join('\n'),
      );
      fs.writeFileSync(logFile, '');
      // -D: stay in the foreground (our child, killed by stop()); -E: log to a file shown on failure.
      child = spawn(SSHD, ['-D', '-f', config, '-E', logFile], { stdio: 'ignore' });
      const up = await waitForBanner(address, port, child, 10000);
      const log = fs.readFileSync(logFile, 'utf8');
      if (!up) {
        await killTree(child);
        child = undefined;
        if (attempt < 5 && /Address already in use|Bind to port/.test(log)) continue;
        throw new Error(`startSshHost: sshd on ${address}:${port} did not come up; its log:\n${log}`);
      }
      const sshConfigFile = path.join(clientDir, 'ssh_config');
      fs.writeFileSync(
        sshConfigFile,
        [
          'Host hoststore-target',
          `  HostName ${address}`,
          '  User root',
          `  Port ${port}`,
          `  IdentityFile ${identityFile}`,
          '  IdentitiesOnly yes',
          `  UserKnownHostsFile ${knownHostsFile}`,
          '  StrictHostKeyChecking yes',
          '  BatchMode yes',
          '  LogLevel ERROR',
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      if (options.clientOwner) {
        const { uid, gid } = options.clientOwner;
        // The local user must reach its files; ssh refuses a key its owner may share, not one root lends it.
        fs.chmodSync(dir, 0o711);
        fs.chownSync(clientDir, uid, gid);
        for (const f of [identityFile, `${identityFile}.pub`, knownHostsFile, sshConfigFile]) fs.chownSync(f, uid, gid);
      }
      const running = child;
      let stopped = false;
      return {
        connection: { address, user: 'root', port, identityFile, knownHostsFile },
        root,
        binDir,
        dir,
        cronDir,
        hostKey,
        sshConfigFile,
        log: () => fs.readFileSync(logFile, 'utf8'),
        stop: async () => {
          if (stopped) return;
          stopped = true;
          await killTree(running);
          try {
            if (madeRoot) cleanupRoot(root);
          } finally {
            fs.rmSync(dir, { recursive: true, force: true });
          }
        },
      };
    }
  } catch (error) {
    if (child) await killTree(child);
    if (madeRoot && fs.existsSync(root)) cleanupRoot(root);
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** SIGTERMs sshd and its sessions (which outlive the listener), then SIGKILLs what is left. */
async function killTree(child: ChildProcess): Promise<void> {
  if (child.pid === undefined) return;
  const exited =
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pids = [child.pid, ...descendants(child.pid)];
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const timer = new Promise<void>((resolve) => setTimeout(resolve, 3000).unref());
  await Promise.race([exited, timer]);
  for (const pid of pids) {
    try {
      process.kill(pid, 0);
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
