/** Freezing a mounted filesystem for the instant of a snapshot; always thawed, even when the work fails. */
import { run } from '../exec.js';

export async function withFrozen<T>(mountpoint: string, fn: () => Promise<T>): Promise<T> {
  await run('fsfreeze', ['--freeze', mountpoint]);
  try {
    return await fn();
  } finally {
    await run('fsfreeze', ['--unfreeze', mountpoint]);
  }
}
