/** This hoststore's package version (for --version and the install command remote hosts are told to run). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

let version: string | undefined;

/** Found by walking up from this file (source, tsc build or bundle chunk) to cdktf-hoststore's package.json. */
export function packageVersion(): string {
  if (version !== undefined) return version;
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'cdktf-hoststore' && pkg.version) return (version = pkg.version);
  }
  return (version = 'unknown');
}

/** The command that installs this very version (what a host with another one is told to run). */
export function installCommand(v: string = packageVersion()): string {
  return `npm install -g cdktf-hoststore@${v === 'unknown' ? 'latest' : v}`;
}
