/** What the two ends of `hoststore remote` agree on besides the request itself (ssh-run.ts and serve.ts). */

/**
 * The line `hoststore remote` writes on stderr once it has accepted a request (contract and command known).
 * Until it comes, whatever arrives is ssh's or the remote shell's complaint, which the sender turns into one
 * error line of its own; after it, output is the host's own and is relayed as it comes.
 */
export const REMOTE_ACCEPTED = 'hoststore remote: request accepted';

/** `hoststore remote`'s exit status for a request of another contract version. */
export const CONTRACT_MISMATCH = 65;
