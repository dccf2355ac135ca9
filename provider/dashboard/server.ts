/**
 * The dashboard's web server: a Hono app (a factory, so tests can call `app.request()` or listen) with its
 * pages, JSON API, /metrics and assets, behind the guards of ./security.ts; `listenDashboard` serves it.
 */
import { Hono, type Context } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { STORAGE_KINDS, type StorageKind } from '../../src/schema.js';
import type { HostRoots } from '../commands/app-roots.js';
import { DASHBOARD_JS } from './client.js';
import { DASHBOARD_CSS, FAVICON_SVG } from './client-style.js';
import { pendingPlan, planCounts, planJson, type HostPlan } from './pending-plan.js';
import {
  history,
  overview,
  readHosts,
  storageDetail,
  storageRows,
  type HistoryFilter,
  type StorageKey,
} from './data.js';
import { refuse, securityMiddleware } from './security.js';
import { environmentClock } from '../clock.js';
import { sinceTime } from '../commands/history.js';
import { overviewPage } from './views/overview.js';
import { storagePage } from './views/storage.js';
import { errorPage, planPage } from './views/plan.js';

export interface DashboardOptions {
  /** The hosts and roots to show (`--root`: one local host). */
  readonly source: readonly HostRoots[];
  /** `--app`: the synth output whose pending plan /plan shows. */
  readonly app?: string;
  /** Names the Host header may carry on loopback, without port. */
  readonly hostNames: readonly string[];
  /** Off loopback: the token every request must carry. */
  readonly token?: string;
  /** On loopback: the users whose connections are answered (./peer-user.ts); absent under app.request(). */
  readonly peerUids?: ReadonlySet<number>;
  /** The port it listens on, once known (Host check); tests that call app.request() give their own. */
  readonly port: () => number | undefined;
  /** The clock (default: hoststore's, which HOSTSTORE_NOW pins): read times, snapshot ages, backup lags. */
  readonly now?: () => Date;
  /** How long a computed plan is reused (a page and its API asked together plan once). */
  readonly planCacheMs?: number;
  readonly parallelism?: number;
  /** How long a remote host has to answer one read (default data.ts REMOTE_READ_TIMEOUT_MS). */
  readonly remoteTimeoutMs?: number;
}

export function dashboardApp(options: DashboardOptions): Hono {
  const app = new Hono();
  const now = options.now ?? environmentClock();
  for (const guard of securityMiddleware(options)) app.use('*', guard);
  const read = () => readHosts(options.source, options.parallelism, options.remoteTimeoutMs);
  const plans = planCache(options);

  app.get('/assets/dashboard.js', (c) =>
    c.body(DASHBOARD_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }),
  );
  const icon = (c: Context) => c.body(FAVICON_SVG, 200, { 'Content-Type': 'image/svg+xml' });
  app.get('/assets/favicon.svg', icon);
  app.get('/favicon.ico', icon);
  app.get('/assets/dashboard.css', (c) => c.body(DASHBOARD_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8' }));

  // With --app, the plan's changes are drift to look at; a plan that cannot be made says nothing here (/plan says why).
  const counts = async () => (options.app ? planCounts(await plans().catch(() => [])) : undefined);
  app.get('/', async (c) => {
    const [hosts, plan] = await Promise.all([read(), counts()]);
    return c.html(overviewPage(await overview(hosts, plan, now()), hosts));
  });
  app.get('/api/overview', async (c) => {
    const [hosts, plan] = await Promise.all([read(), counts()]);
    return c.json(await overview(hosts, plan, now()));
  });
  app.get('/api/storage', async (c) => c.json(storageRows(await read())));

  const detail = async (c: Context) => {
    const key = storageKey(c);
    const found = key && (await storageDetail(options.source, await read(), key, options.remoteTimeoutMs));
    if (!found) {
      const message = `no ${c.req.param('kind')} called ${JSON.stringify(c.req.param('name'))} on host ${JSON.stringify(c.req.param('host'))}${c.req.query('root') ? ` under ${c.req.query('root')}` : ''}`;
      return c.req.path.startsWith('/api/') ? refuse(c, 404, message) : c.html(errorPage(404, message), 404);
    }
    return found;
  };
  app.get('/storage/:host/:kind/:name', async (c) => {
    const found = await detail(c);
    return found instanceof Response ? found : c.html(storagePage(found));
  });
  app.get('/api/storage/:host/:kind/:name', async (c) => {
    const found = await detail(c);
    return found instanceof Response ? found : c.json(found);
  });

  app.get('/api/history', async (c) => {
    const filter = historyFilter(c, now);
    if (typeof filter === 'string') return refuse(c, 400, filter);
    const host = c.req.query('host');
    const root = c.req.query('root');
    const source = options.source
      .filter((h) => host === undefined || h.name === host)
      .map((h) => ({ ...h, roots: h.roots.filter((r) => root === undefined || r === root) }));
    return c.json(await history(source, filter, options.remoteTimeoutMs));
  });

  app.get('/plan', async (c) => c.html(planPage(options.app ? await plans() : undefined)));
  app.get('/api/plan', async (c) => {
    if (!options.app) return refuse(c, 404, 'no pending plan: start the dashboard with --app DIR (the synth output)');
    return c.json(planJson(await plans()));
  });

  app.get('/metrics', async (c) => {
    const { metricsText, METRICS_CONTENT_TYPE } = await import('./metrics.js');
    return c.body(await metricsText(await read(), now()), 200, { 'Content-Type': METRICS_CONTENT_TYPE });
  });

  app.notFound((c) =>
    c.req.path.startsWith('/api/')
      ? refuse(c, 404, `no such API route: ${c.req.path}`)
      : c.html(errorPage(404, `no page at ${c.req.path}`), 404),
  );
  app.onError((error, c) => {
    // One line, never a stack: the server keeps running and says what failed.
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    process.stderr.write(`hoststore dashboard: ${c.req.method} ${c.req.path}: ${message}\n`);
    return c.req.path.startsWith('/api/') || c.req.path === '/metrics'
      ? refuse(c, 500, message)
      : c.html(errorPage(500, message), 500);
  });
  return app;
}

/** The storage a path names: kind must be one of ours (else no such storage). */
function storageKey(c: Context): StorageKey | undefined {
  const kind = c.req.param('kind');
  if (!(STORAGE_KINDS as readonly string[]).includes(kind ?? '')) return undefined;
  return {
    host: c.req.param('host')!,
    kind: kind!,
    name: c.req.param('name')!,
    root: c.req.query('root') || undefined,
    project: c.req.query('project'),
  };
}

/** /api/history's query as a filter, or the one line saying which parameter is wrong. */
function historyFilter(c: Context, now: () => Date): HistoryFilter | string {
  const kind = c.req.query('kind');
  if (kind !== undefined && !(STORAGE_KINDS as readonly string[]).includes(kind))
    return `kind must be one of ${STORAGE_KINDS.join(', ')} (got ${JSON.stringify(kind)})`;
  // As `history --since` takes it: 30m, 24h, 7d, 2w, or an ISO date or time.
  let since: Date | undefined;
  try {
    since = sinceTime(c.req.query('since'), now);
  } catch (error) {
    return `since${(error as Error).message.replace(/^--since/, '')}`;
  }
  return {
    kind: kind as StorageKind | undefined,
    project: c.req.query('project'),
    storage: c.req.query('storage'),
    since,
  };
}

/** The plan, computed at most once every few seconds (concurrent askers share one computation). */
function planCache(options: DashboardOptions): () => Promise<HostPlan[]> {
  let cached: { at: number; plans: Promise<HostPlan[]> } | undefined;
  const ttl = options.planCacheMs ?? 5000;
  return () => {
    if (!cached || Date.now() - cached.at > ttl) {
      const plans = pendingPlan(options.app!);
      cached = { at: Date.now(), plans };
      // A failed plan is not kept: the next request tries again.
      plans.catch(() => (cached = undefined));
    }
    return cached.plans;
  };
}

export interface RunningDashboard {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on host:port (0: any free port); rejects with the listen error (address in use, not ours). */
export function listenDashboard(
  options: Omit<DashboardOptions, 'port'>,
  host: string,
  port: number,
): Promise<RunningDashboard> {
  let bound: number | undefined;
  const app = dashboardApp({ ...options, port: () => bound });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      bound = (server.address() as AddressInfo).port;
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `http://${shown}:${bound}/`,
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
