/**
 * Errors the CLI turns into one clear line. Each class owns its exit status, so no call site picks a
 * number; anything else escaping a command is a bug and is printed with its stack.
 */
export class HoststoreError extends Error {
  /** The process exit status for this class of error: 1, something failed. */
  readonly exitCode: number = 1;

  /** `detail`: more lines under the message (a failed command's arguments and stderr). */
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'HoststoreError';
  }
}

/** The command line itself is wrong: an unknown command or option, a missing argument, a bad value (exit 2). */
export class UsageError extends HoststoreError {
  override readonly exitCode: number = 2;

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The spec (HOSTSTORE_SPEC, a synth output, a flag's value) is malformed or tampered with; nothing was touched (exit 2). */
export class SpecError extends HoststoreError {
  override readonly exitCode: number = 2;

  constructor(message: string) {
    super(message);
    this.name = 'SpecError';
  }
}

/** Refused to protect data or trust: shrink, filesystem change, a disk leased elsewhere, a root others can change (exit 3). */
export class RefusedError extends HoststoreError {
  override readonly exitCode: number = 3;

  constructor(message: string) {
    super(message);
    this.name = 'RefusedError';
  }
}

/** Another process holds the root's lock past the wait bound (exit 4). */
export class LockTimeoutError extends HoststoreError {
  override readonly exitCode: number = 4;

  constructor(message: string) {
    super(message);
    this.name = 'LockTimeoutError';
  }
}
