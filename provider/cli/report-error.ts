/** How a failed command ends: one clear line on stderr (plus a failed tool's detail) and its class's exit status; a stack only for a bug. */
import { HoststoreError } from '../errors.js';

export function reportError(error: unknown): number {
  const e = error as Error & { code?: string };
  if (error instanceof HoststoreError) {
    process.stderr.write(`hoststore: ${error.message}\n${error.detail ? `${error.detail}\n` : ''}`);
    return error.exitCode;
  }
  // A system call's failure (EACCES, ENOENT...) that no command explained better: its message is still one line.
  if (e && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) {
    process.stderr.write(`hoststore: ${e.message}\n`);
    return 1;
  }
  process.stderr.write(`hoststore: internal error (please report): ${e?.stack ?? String(error)}\n`);
  return 1;
}

/** Runs a command line and resolves to its exit status; a failure is reported as one line (see reportError). */
export async function exitCodeOf(argv: readonly string[], run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    const code = reportError(error);
    // With --detailed-exitcode, 2 means "changes", so every error is 1 (as with terraform plan).
    // Only for the commands that take it: elsewhere the option is a usage error, and that is 2.
    const detailed = argv.includes('--detailed-exitcode') && (argv.includes('plan') || argv.includes('diff'));
    return detailed ? 1 : code;
  }
}
