/** An append-only history of what the handlers changed on a root (`<root>/registry/journal.log`), one line each. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { registryDir } from './store.js';

export function journalPath(root: string): string {
  return path.join(registryDir(root), 'journal.log');
}

export function appendJournal(ctx: { root: string; now: () => Date }, line: string): void {
  fs.mkdirSync(registryDir(ctx.root), { recursive: true, mode: 0o700 });
  // Never appended through a symlink planted at its name.
  const flags = fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW;
  const fd = fs.openSync(journalPath(ctx.root), flags, 0o600);
  try {
    fs.writeSync(fd, `${ctx.now().toISOString()} ${line}\n`);
  } finally {
    fs.closeSync(fd);
  }
}
