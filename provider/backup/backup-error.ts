/** The error of anything that talks to a backup repository: one line naming the repository, what restic said and the fix. */
import { HoststoreError } from '../errors.js';

/**
 * Why restic failed, for callers that act on it: `no-repository` (nothing at that location yet: a push
 * initialises it, a restore finds no backup), anything else means the repository could not be read and
 * must never be taken as "no backup". `preflight`: restic missing or a secret file not root's alone (nothing ran).
 */
export type BackupFailure =
  'preflight' | 'wrong-password' | 'no-repository' | 'locked' | 'unreachable' | 'no-space' | 'other';

export class BackupError extends HoststoreError {
  constructor(
    message: string,
    readonly failure: BackupFailure = 'other',
    detail?: string,
  ) {
    super(message, detail);
    this.name = 'BackupError';
  }
}
