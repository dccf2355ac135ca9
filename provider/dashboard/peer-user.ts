/**
 * Who is on the other end of a loopback connection: the uid that owns the client's socket, from the kernel's
 * socket tables (/proc/net/tcp, tcp6), as identd finds it. Loopback is not a boundary between the users of
 * a shared host: without this, any local user could read what the dashboard shows of root's registry.
 */
import * as fs from 'node:fs';

/**
 * The uid owning the TCP socket whose local port is `clientPort` and whose peer port is `serverPort`
 * (the client's end of a connection to us), or undefined when the tables do not show it.
 */
export function loopbackPeerUid(clientPort: number, serverPort: number): number | undefined {
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    const uid = ownerIn(text, clientPort, serverPort);
    if (uid !== undefined) return uid;
  }
  return undefined;
}

/** In one table: `sl local_address rem_address st tx:rx tr:when retrnsmt uid ...`, addresses as HEX:PORT. */
export function ownerIn(text: string, clientPort: number, serverPort: number): number | undefined {
  const local = `:${hexPort(clientPort)}`;
  const remote = `:${hexPort(serverPort)}`;
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8 || !fields[1].endsWith(local) || !fields[2].endsWith(remote)) continue;
    const uid = Number(fields[7]);
    if (Number.isSafeInteger(uid)) return uid;
  }
  return undefined;
}

function hexPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}

/**
 * Who may read the dashboard on loopback: root, the user it runs as, and the user who ran it through sudo
 * (SUDO_UID: whoever opens it through `ssh -L` connects as that user).
 */
export function allowedLoopbackUids(env: NodeJS.ProcessEnv = process.env): ReadonlySet<number> {
  const uids = new Set<number>([0, process.getuid?.() ?? 0]);
  const sudo = Number(env.SUDO_UID);
  if (env.SUDO_UID !== undefined && Number.isSafeInteger(sudo) && sudo >= 0) uids.add(sudo);
  return uids;
}
