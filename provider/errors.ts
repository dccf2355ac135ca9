/**
 * Errors the CLI turns into one clear line and an exit code. Anything else escaping a handler is a bug
 * and is printed with its stack.
 */
export class HoststoreError extends Error {
  constructor(message: string, readonly exitCode = 1, readonly detail?: string) {
    super(message);
    this.name = 'HoststoreError';
  }
}

/** The host holds something the spec would destroy: shrink, filesystem change, a disk leased elsewhere. */
export class RefusedError extends HoststoreError {
  constructor(message: string) {
    super(message, 3);
    this.name = 'RefusedError';
  }
}

/** The spec itself is malformed or tampered with; nothing was touched. */
export class SpecError extends HoststoreError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'SpecError';
  }
}

/** Another process holds the root's lock past the wait bound. */
export class LockTimeoutError extends HoststoreError {
  constructor(message: string) {
    super(message, 4);
    this.name = 'LockTimeoutError';
  }
}
