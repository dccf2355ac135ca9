/**
 * A repository's environment file (`KEY=value` lines: credentials for s3: and the like) read into the
 * variables restic gets. Its content is a secret: a problem names the file and the line number, never a value.
 */
import * as fs from 'node:fs';
import { BackupError } from './backup-error.js';

const KEY = /^[A-Z_][A-Z0-9_]*$/;
// hoststore sets these itself from the repository's record; a file that set them would silently win.
const OURS = /^RESTIC_(PASSWORD|REPOSITORY)/;

/**
 * `KEY=value` lines; `#` comments and blank lines skipped, an optional `export ` prefix, one pair of
 * surrounding quotes stripped, nothing expanded (`$HOME` stays `$HOME`).
 */
export function parseEnvironment(text: string, file: string): Record<string, string> {
  const vars: Record<string, string> = {};
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].replace(/\r$/, '').trim();
    if (!line || line.startsWith('#')) continue;
    const where = `${file} line ${index + 1}`;
    const eq = line.indexOf('=');
    if (eq < 0)
      throw new BackupError(
        `environment file ${where}: is not KEY=value; write one variable a line, for example AWS_ACCESS_KEY_ID=...`,
      );
    const key = line
      .slice(0, eq)
      .replace(/^export\s+/, '')
      .trim();
    if (!KEY.test(key))
      throw new BackupError(
        `environment file ${where}: the name before '=' must be letters, digits and _ in capitals, not starting with a digit (^[A-Z_][A-Z0-9_]*$); fix that line`,
      );
    if (OURS.test(key))
      throw new BackupError(
        `environment file ${where}: ${key} may not be set there: hoststore gives restic the repository (the BackupRepository's repository) and its password (passwordFile) itself; remove that line`,
      );
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0]))
      value = value.slice(1, -1);
    vars[key] = value;
  }
  return vars;
}

/** Reads and parses the file (its ownership and mode were checked by the preflight before). */
export function readEnvironmentFile(file: string): Record<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new BackupError(
      `environment file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); create it (root-owned, mode 0600) or fix environmentFile`,
    );
  }
  return parseEnvironment(text, file);
}
