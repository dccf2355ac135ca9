/**
 * The ssh_config through which hoststore reaches a host: every user value (address, user, port, key and
 * known_hosts paths) goes into this file, in the private directory, so none is ever on a command line.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeHost, hostConnectionProblems, type HostConnection } from '../../src/host-connection.js';
import { SpecError } from '../errors.js';
import { controlDir } from './control-dir.js';

/** The Host alias the config defines and ssh is asked for: a fixed word, not the address. */
export const SSH_TARGET = 'hoststore-target';

/** Bump when the rendered options change, so files of an older build are not reused. */
const CONFIG_FORMAT = 2;

/** The ssh_config text for `connection`, sharing connections through `socket`. */
export function sshConfigText(connection: HostConnection, socket: string): string {
  const lines = [
    `# written by hoststore for ${describeHost(connection)}; safe to delete`,
    `Host ${SSH_TARGET}`,
    `  HostName ${connection.address}`,
    `  User ${connection.user}`,
    `  Port ${connection.port}`,
    ...(connection.identityFile ? [`  IdentityFile ${connection.identityFile}`, '  IdentitiesOnly yes'] : []),
    // A pinned known_hosts is the only one: ssh would otherwise also take any key the system's files hold.
    ...(connection.knownHostsFile
      ? [`  UserKnownHostsFile ${connection.knownHostsFile}`, '  GlobalKnownHostsFile /dev/null']
      : []),
    // Host keys are checked, never learnt: an unknown or changed key stops ssh before anything is sent.
    '  StrictHostKeyChecking yes',
    '  UpdateHostKeys no',
    // No prompt can ever wait for a person (a passphrase, a password): Terraform has no terminal to give one.
    '  BatchMode yes',
    // One connection serves every handler of a deploy; it lives on 60 s after the last one.
    '  ControlMaster auto',
    `  ControlPath ${socket}`,
    '  ControlPersist 60',
    '  ConnectTimeout 15',
    '  ServerAliveInterval 15',
    '  ServerAliveCountMax 4',
    '  ForwardAgent no',
    '  ForwardX11 no',
    '  ClearAllForwardings yes',
    '  PermitLocalCommand no',
    '  RequestTTY no',
    '  LogLevel ERROR',
    '',
  ];
  return lines.join('\n');
}

/**
 * Writes (once; concurrent handlers share it) the config for `connection` into the private directory and
 * returns its path. The connection is checked again here: HOSTSTORE_HOST may have been written by hand, and
 * a value with a newline or a space would add options to the file.
 */
export function writeSshConfig(connection: HostConnection): string {
  const problems = hostConnectionProblems(connection);
  if (problems.length > 0) throw new SpecError(`host connection refused: ${problems.join('; ')}`);
  const dir = controlDir();
  // One socket per connection (address, user, port, key, known_hosts): a connection made with one key, or
  // whose host key was checked against one known_hosts file, never serves a request made with another.
  const id = crypto
    .createHash('sha256')
    .update(
      JSON.stringify([
        CONFIG_FORMAT,
        dir,
        connection.address,
        connection.user,
        connection.port,
        connection.identityFile ?? null,
        connection.knownHostsFile ?? null,
      ]),
    )
    .digest('hex')
    .slice(0, 20);
  const file = path.join(dir, `${id}.conf`);
  const text = sshConfigText(connection, path.join(dir, `${id}.sock`));
  try {
    if (fs.readFileSync(file, 'utf8') === text) return file;
  } catch {
    // not written yet
  }
  const temp = path.join(dir, `.${id}.conf.${process.pid}.${crypto.randomBytes(4).toString('hex')}`);
  fs.writeFileSync(temp, text, { mode: 0o600, flag: 'wx' });
  fs.renameSync(temp, file);
  return file;
}
