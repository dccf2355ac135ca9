/**
 * The contract for remote hosts: how a StorageProject's `host` reaches the provisioners (HOSTSTORE_HOST) and
 * the host (`hoststore remote`, request on stdin), and the rules its fields obey. Pure: no I/O.
 */
import { absolutePathRule, wholeNumberRule } from './schema.js';

/**
 * The version of what the two ends exchange (carriers, specs, remote requests). A host whose hoststore
 * speaks another one refuses the request before doing anything; bump it with any change either end reads.
 */
export const CONTRACT_VERSION = 1;

/** The provisioners' environment variable holding a remote project's connection (JSON of HostConnection). */
export const HOST_ENV = 'HOSTSTORE_HOST';

/** The one command line run on a remote host: fixed, no user value in it (the request travels on stdin). */
export const REMOTE_COMMAND = 'hoststore remote';

export const DEFAULT_SSH_USER = 'root';
export const DEFAULT_SSH_PORT = 22;

/** How to reach a storage host over OpenSSH. Paths only: key material never enters the stack or its state. */
export interface HostConnection {
  /** DNS name or IP address of the host. Part of every storage's identity. */
  readonly address: string;
  /** @default 'root' */
  readonly user: string;
  /** @default 22 */
  readonly port: number;
  /** Private key file on the machine that deploys; omitted: the SSH agent (or ssh's defaults). */
  readonly identityFile?: string;
  /** known_hosts file with the host's key; omitted: the deploying user's. Host keys are always checked. */
  readonly knownHostsFile?: string;
}

const HOSTNAME_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;
const NUMERIC_LABEL = /^(?:0x[0-9a-f]*|\d+)$/i;
const SSH_USER = /^[A-Za-z_][A-Za-z0-9._-]{0,31}$/;

/** A DNS name (labels of letters, digits and inner hyphens) or an IPv4 or IPv6 address, without brackets or port. */
export function hostAddressRule(value: unknown): string | undefined {
  const rule =
    'must be a DNS name (letters, digits, hyphens and dots) or an IPv4 or IPv6 address, without user, port or brackets';
  if (typeof value !== 'string' || value === '') return rule;
  if (value.includes(':')) return IPV6.test(value) && (value.match(/:/g) ?? []).length >= 2 ? undefined : rule;
  if (/^[\d.]+$/.test(value)) return IPV4.test(value) ? undefined : rule;
  if (value.length > 253) return `${rule} (at most 253 characters)`;
  const labels = value.split('.');
  // A last label that is a number (0x7f000001, host.123) is no top-level domain: the resolver may read the
  // whole name as an IPv4 address, so one host would have two identities.
  if (NUMERIC_LABEL.test(labels[labels.length - 1])) return rule;
  return labels.every((label) => HOSTNAME_LABEL.test(label)) ? undefined : rule;
}

export function sshUserRule(value: unknown): string | undefined {
  return typeof value === 'string' && SSH_USER.test(value)
    ? undefined
    : 'must be a user name: a letter or _, then letters, digits, . _ or -, at most 32 characters';
}

export function sshPortRule(value: unknown): string | undefined {
  return wholeNumberRule(value, 1, 65535);
}

/** A key or known_hosts file: a plain absolute path (never key material; no character ssh_config would expand). */
export function sshFileRule(value: unknown): string | undefined {
  if (holdsKeyMaterial(value)) return 'must be the path of the key file, never the key itself';
  return absolutePathRule(value);
}

const RULES: Record<keyof HostConnection, (value: unknown) => string | undefined> = {
  address: hostAddressRule,
  user: sshUserRule,
  port: sshPortRule,
  identityFile: sshFileRule,
  knownHostsFile: sshFileRule,
};

/** Whether `text` holds a private key (pasted where its path belongs): never echoed in a message. */
export function holdsKeyMaterial(text: unknown): boolean {
  return typeof text === 'string' && text.includes('PRIVATE KEY');
}

/** A value as a message shows it: JSON, or a placeholder for key material (a log must never hold a key). */
function shownValue(value: unknown): string {
  return holdsKeyMaterial(value) ? 'key material, not shown' : String(JSON.stringify(value));
}

/**
 * The problems of a connection as read from HOSTSTORE_HOST or a synth output (JSON), one per field, each
 * `<field> <rule> (got <value>)`; empty when it is valid. Unknown fields are problems too.
 */
export function hostConnectionProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return [`must be a JSON object {"address","user","port","identityFile"?,"knownHostsFile"?}`];
  const record = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(record))
    if (!Object.hasOwn(RULES, key)) problems.push(`${key} is not a field of a host connection`);
  for (const [key, rule] of Object.entries(RULES) as [keyof HostConnection, (v: unknown) => string | undefined][]) {
    const optional = key === 'identityFile' || key === 'knownHostsFile';
    if (optional && record[key] === undefined) continue;
    const problem = rule(record[key]);
    if (problem) problems.push(`${key} ${problem} (got ${shownValue(record[key])})`);
  }
  return problems;
}

/** `user@address:port` as people write it (IPv6 in brackets), for messages and summaries. */
export function describeHost(connection: Pick<HostConnection, 'address' | 'user' | 'port'>): string {
  const address = connection.address.includes(':') ? `[${connection.address}]` : connection.address;
  return `${connection.user}@${address}${connection.port === DEFAULT_SSH_PORT ? '' : `:${connection.port}`}`;
}
