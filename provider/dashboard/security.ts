/**
 * The dashboard's guards, as Hono middleware: its security headers on every answer, read-only methods, the
 * Host check that blocks DNS rebinding on loopback, and the token (Bearer or cookie) off loopback.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { secureHeaders } from 'hono/secure-headers';
import type { IncomingMessage } from 'node:http';
import { loopbackPeerUid } from './peer-user.js';

/** The cookie a visit to `/?token=...` sets, so a browser need not send the token in every address. */
export const TOKEN_COOKIE = 'hoststore_dashboard';

export interface SecurityOptions {
  /**
   * On loopback: the names the Host header may carry (the listen address, `localhost`), without port.
   * Empty off loopback, where the token guards instead (the Host there is whatever name reaches the host).
   */
  readonly hostNames: readonly string[];
  /** The port it really listens on (known once it listens: port 0 picks one). */
  readonly port: () => number | undefined;
  /** Required of every request when set (always off loopback). */
  readonly token?: string;
  /**
   * On loopback, when listening (not under app.request()): only connections from a socket one of these
   * users owns are answered (./peer-user.ts); anyone else on the host gets 403.
   */
  readonly peerUids?: ReadonlySet<number>;
}

/** Every guard, in order: headers first, so a refusal carries them too. */
export function securityMiddleware(options: SecurityOptions): MiddlewareHandler[] {
  return [
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
      },
      xFrameOptions: 'DENY',
      xContentTypeOptions: 'nosniff',
      referrerPolicy: 'no-referrer',
      // Served over plain HTTP on a private address: a Strict-Transport-Security header would mean nothing.
      strictTransportSecurity: false,
    }),
    noStore,
    readOnly,
    ...(options.hostNames.length > 0 ? [hostCheck(options)] : []),
    ...(options.peerUids === undefined ? [] : [peerCheck(options.peerUids, options.port)]),
    ...(options.token === undefined ? [] : [tokenCheck(options.token)]),
  ];
}

/** Every answer is the host's state now: never cached by a browser or a proxy. */
const noStore: MiddlewareHandler = async (c, next) => {
  await next();
  c.header('Cache-Control', 'no-store');
};

/** A read-only server: GET and HEAD only, anything else 405 before a route runs. */
const readOnly: MiddlewareHandler = async (c, next) => {
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
  c.header('Allow', 'GET, HEAD');
  return refuse(c, 405, `the dashboard is read-only: ${c.req.method} is not allowed (only GET and HEAD)`);
};

/**
 * On loopback, a page of another site that made its name resolve to 127.0.0.1 (DNS rebinding) would send
 * its own name as Host: only the address it listens on, or localhost, with its port, is answered.
 */
function hostCheck(options: SecurityOptions): MiddlewareHandler {
  const names = new Set(options.hostNames.map((n) => n.toLowerCase()));
  return async (c, next) => {
    const host = (c.req.header('host') ?? '').toLowerCase();
    const match = /^(\[[0-9a-f:.]+\]|[^:]+)(?::(\d+))?$/.exec(host);
    const port = options.port();
    const portOk = match && (match[2] === undefined ? port === 80 : Number(match[2]) === port);
    if (!match || !names.has(match[1]) || !portOk)
      return refuse(
        c,
        403,
        `the Host header ${JSON.stringify(host)} is not this dashboard's address; open it as http://${[...names][0]}:${port}/`,
      );
    return next();
  };
}

/** On loopback: the connection must come from a socket of an allowed user (root, or who started it). */
function peerCheck(uids: ReadonlySet<number>, port: () => number | undefined): MiddlewareHandler {
  return async (c, next) => {
    const socket = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket;
    const serverPort = port();
    const uid =
      socket?.remotePort === undefined || serverPort === undefined
        ? undefined
        : loopbackPeerUid(socket.remotePort, serverPort);
    if (uid !== undefined && uids.has(uid)) return next();
    return refuse(
      c,
      403,
      `this dashboard answers only root and the user who started it (uids ${[...uids].join(', ')}); this connection is ${uid === undefined ? 'of a user it cannot tell' : `of uid ${uid}`}`,
    );
  };
}

/** Off loopback: `Authorization: Bearer TOKEN` or the cookie; `/?token=TOKEN` sets the cookie and drops the token from the address. */
function tokenCheck(token: string): MiddlewareHandler {
  return async (c, next) => {
    const given = c.req.query('token');
    if (c.req.path === '/' && given !== undefined && sameSecret(given, token)) {
      setCookie(c, TOKEN_COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/' });
      return c.redirect('/', 303);
    }
    const bearer = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1];
    const cookie = getCookie(c, TOKEN_COOKIE);
    if ((bearer !== undefined && sameSecret(bearer, token)) || (cookie !== undefined && sameSecret(cookie, token)))
      return next();
    c.header('WWW-Authenticate', 'Bearer realm="hoststore dashboard"');
    return refuse(
      c,
      401,
      'this dashboard needs its token: open /?token=TOKEN once (it sets a cookie), or send Authorization: Bearer TOKEN',
    );
  };
}

/** Compared in constant time; hashed first so that the lengths always agree. */
function sameSecret(given: string, token: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token));
}

/** A refusal as JSON for the API and /metrics, as one line of text for a page. */
export function refuse(c: Context, status: 400 | 401 | 403 | 404 | 405 | 500, message: string): Response {
  if (c.req.path.startsWith('/api/')) return c.json({ error: message }, status);
  return c.text(`${message}\n`, status);
}
