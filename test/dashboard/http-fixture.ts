/**
 * A real root for the dashboard's HTTP tests: storage applied by the engine through the CLI (a mounted
 * ext4 disk, a directory volume, an unmounted block volume), a snapshot, and helpers to serve it.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import { makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { hoststore } from '../helpers/cli.js';
import { synthModel } from '../helpers/synth-model.js';

export interface DashboardRoot {
  readonly host: HostFixture;
  readonly out: string;
  /** The next version of the app: cache grown to 2 GB, a new volume `logs` (a pending plan with changes). */
  readonly next: string;
  cleanup(): void;
}

/** Applies the storage; throws with the CLI's output when a step fails. */
export function makeDashboardRoot(): DashboardRoot {
  const host = makeHostFixture('hoststore-dash-');
  const model = (cacheGb: number, more: boolean) => ({
    stack: 'shop',
    root: host.root,
    storage: [
      {
        id: 'pg',
        type: 'Disk' as const,
        props: { name: 'shop-pg', sizeGb: 1 },
        mounts: [{ id: 'pg-mount', service: 'db', mountPath: '/var/lib/db' }],
      },
      { id: 'files', type: 'Volume' as const, props: { type: 'directory' } },
      { id: 'cache', type: 'Volume' as const, props: { sizeGb: cacheGb } },
      ...(more ? [{ id: 'logs', type: 'Volume' as const, props: { type: 'directory' } }] : []),
    ],
  });
  const out = synthModel(model(1, false));
  const next = synthModel(model(2, true));
  const cleanup = () => {
    host.cleanup();
    for (const dir of [out, next]) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    must(hoststore(['apply', '--app', out, '--auto-approve']), 'apply');
    must(hoststore(['snapshot', 'create', 'shop-pg', '--root', host.root]), 'snapshot create');
  } catch (error) {
    cleanup();
    throw error;
  }
  return { host, out, next, cleanup };
}

function must(result: ReturnType<typeof hoststore>, what: string): void {
  if (result.status !== 0) throw new Error(`${what} failed (${result.status}): ${result.stderr}${result.stdout}`);
}

/** Appends a journal line as recordEvent writes them (what b14-events records at the call sites). */
export function appendEvent(root: string, event: Record<string, unknown>): void {
  const line = JSON.stringify({ v: 1, time: new Date().toISOString(), actor: 'cli', ...event });
  fs.mkdirSync(`${root}/registry`, { recursive: true, mode: 0o700 });
  fs.appendFileSync(`${root}/registry/journal.log`, `${line}\n`, { mode: 0o600 });
}

/** An IPv4 address of this machine that is not loopback, or undefined (then the token tests cannot listen off loopback). */
export function nonLoopbackAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

/** Whether something accepts connections at host:port. */
export function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** A port that was free a moment ago. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Every security header the dashboard promises on every answer. */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
