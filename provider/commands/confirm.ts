/** Asks a yes/no question on a terminal; with no terminal, refuses and says which flag to pass. */
import * as readline from 'node:readline/promises';
import { HoststoreError, UsageError } from '../errors.js';

export async function confirm(question: string, flag = '--yes'): Promise<void> {
  if (!process.stdin.isTTY) throw new UsageError(`${question} — no terminal to confirm on; pass ${flag} to proceed`);
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') throw new HoststoreError('cancelled');
  } finally {
    rl.close();
  }
}
