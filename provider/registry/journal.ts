/** An append-only history of what the handlers changed on a root (`<root>/registry/journal.log`), one line each. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { registryDir } from './store.js';

export function journalPath(root: string): string {
  return path.join(registryDir(root), 'journal.log');
}

export function appendJournal(ctx: { root: string; now: () => Date }, line: string): void {
  fs.mkdirSync(registryDir(ctx.root), { recursive: true });
  fs.appendFileSync(journalPath(ctx.root), `${ctx.now().toISOString()} ${line}\n`);
}
