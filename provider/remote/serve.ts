/**
 * `hoststore remote`, on a storage host: what every remote request runs. Reads the request from stdin,
 * refuses one of another contract version before anything else, then hands it to its command's module.
 */
import { CONTRACT_VERSION } from '../../src/host-connection.js';
import { HoststoreError, UsageError } from '../errors.js';
import { installCommand, packageVersion } from '../package-version.js';
import { readRequest } from './read-request.js';
import { REMOTE_ACCEPTED, CONTRACT_MISMATCH } from './remote-protocol.js';

/** What a command's module exports: it validates its own fields and resolves to the exit status. */
export interface RemoteServer {
  serve(request: Record<string, unknown>): Promise<number>;
}

/** Each command's module, loaded only when a request asks for it. */
const SERVERS: Readonly<Record<string, () => Promise<RemoteServer>>> = {
  handle: () => import('./serve-handle.js'),
  engine: () => import('./serve-engine.js'),
  read: () => import('./serve-read.js'),
};

/** A request of another contract version: exit 65, one line naming both versions and the install command. */
export class ContractMismatchError extends HoststoreError {
  override readonly exitCode: number = CONTRACT_MISMATCH;

  constructor(theirs: unknown, senderVersion: unknown) {
    const sender = typeof senderVersion === 'string' && /^[0-9A-Za-z.+-]{1,40}$/.test(senderVersion) ? senderVersion : undefined;
    super(
      `the request speaks contract ${JSON.stringify(theirs)}${sender ? ` (hoststore ${sender})` : ''}, but hoststore ${packageVersion()} here speaks contract ${CONTRACT_VERSION}; install the same version on both: ${sender ? installCommand(sender) : 'the version that deploys'}`,
    );
    this.name = 'ContractMismatchError';
  }
}

export async function serveRemote(): Promise<number> {
  const request = readRequest();
  if (request.hoststore !== CONTRACT_VERSION) throw new ContractMismatchError(request.hoststore, request.version);
  const command = request.command;
  const load = typeof command === 'string' && Object.hasOwn(SERVERS, command) ? SERVERS[command] : undefined;
  if (!load)
    throw new UsageError(
      `hoststore remote: unknown command ${JSON.stringify(command)}; this hoststore (${packageVersion()}) serves ${Object.keys(SERVERS).join(', ')}`,
    );
  // From here on, what the host writes is its own output (ssh-run.ts relays it); before, it was a refusal.
  process.stderr.write(`${REMOTE_ACCEPTED} (contract ${CONTRACT_VERSION}, ${command})\n`);
  return (await load()).serve(request);
}
