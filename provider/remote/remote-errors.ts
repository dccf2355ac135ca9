/**
 * Why a remote host could not run a request: each one line naming the host (describeHost) and what to do.
 * A request the host ran and that failed is not one of these: its exit code is returned to the caller.
 */
import { describeHost, type HostConnection } from '../../src/host-connection.js';
import { HoststoreError } from '../errors.js';
import { installCommand } from '../package-version.js';

/** ssh could not connect or log in (ssh exit 255), or the connection broke during the request. */
export class HostUnreachableError extends HoststoreError {
  constructor(
    readonly connection: HostConnection,
    sshLine: string,
    duringRequest = false,
  ) {
    super(
      duringRequest
        ? `host ${describeHost(connection)}: the connection broke while hoststore ran there (${sshLine || 'no message from ssh'}); what it did there is complete or rolled back on its next run: run the deploy again`
        : `host ${describeHost(connection)} is unreachable over ssh: ${sshLine || 'ssh failed without a message'}; check the address, port, user and key (identityFile), and that sshd runs there`,
    );
    this.name = 'HostUnreachableError';
  }
}

/** The host's key is not in the known_hosts file, or differs from the one there: nothing was sent. */
export class HostKeyError extends HoststoreError {
  constructor(
    readonly connection: HostConnection,
    changed: boolean,
  ) {
    // Without knownHostsFile, ssh reads the deploying user's own file.
    const file = connection.knownHostsFile ?? '~/.ssh/known_hosts';
    const name = connection.port === 22 ? connection.address : `[${connection.address}]:${connection.port}`;
    const scan = `ssh-keyscan -p ${connection.port} ${connection.address}`;
    const check = `compare \`${scan} | ssh-keygen -lf -\` with \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` run on the host, and only if they match`;
    super(
      changed
        ? `host ${describeHost(connection)}: its host key differs from the one for ${name} in ${file}, so nothing was sent (a reinstalled host, or someone in between); if the host was reinstalled, ${check}: ssh-keygen -R '${name}' -f ${file} && ${scan} >> ${file}`
        : `host ${describeHost(connection)}: its host key is not in ${file}, so nothing was sent (host keys are always checked, never accepted on first use); to add it, ${check}: ${scan} >> ${file}`,
    );
    this.name = 'HostKeyError';
  }
}

/** The host has no `hoststore` on the SSH user's PATH (the remote shell's exit 127). */
export class RemoteMissingError extends HoststoreError {
  constructor(readonly connection: HostConnection) {
    super(
      `host ${describeHost(connection)} has no hoststore on the PATH of ${connection.user}, so nothing was done there; install it on the host: ${installCommand()}`,
    );
    this.name = 'RemoteMissingError';
  }
}

/** The host's hoststore speaks another contract version, or is too old to know `hoststore remote`. */
export class RemoteIncompatibleError extends HoststoreError {
  constructor(
    readonly connection: HostConnection,
    why: string,
  ) {
    super(
      `host ${describeHost(connection)}: ${why}; nothing was done there; install the same version on the host: ${installCommand()}`,
    );
    this.name = 'RemoteIncompatibleError';
  }
}
