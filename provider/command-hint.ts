/**
 * The one way a message names a command to run: with the `--root` it needs when the root is not the
 * default, so the hint works when copied as it is (a root from HOSTSTORE_ROOT or a StorageProject's `root`).
 */
import { DEFAULT_ROOT } from '../src/schema.js';

/** `hoststore <command>`, plus ` --root <root>` unless `root` is the default (or unknown). */
export function commandHint(root: string | undefined, command: string): string {
  const withRoot = root !== undefined && root !== DEFAULT_ROOT ? ` --root ${shellWord(root)}` : '';
  return `hoststore ${command}${withRoot}`;
}

/**
 * A value as one shell word: as it is when it needs no quoting, single-quoted when it holds no control
 * character, else ANSI-C quoted ($'...', bash and zsh) with those characters escaped, so nothing reaches
 * the terminal raw.
 */
export function shellWord(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  const control = /[\x00-\x1f\x7f-\x9f]/g;
  if (!control.test(value)) return `'${value.replace(/'/g, `'\\''`)}'`;
  return `$'${value
    .replace(/[\\']/g, (c) => `\\${c}`)
    .replace(control, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}'`;
}
