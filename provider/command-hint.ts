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

/** A root as a shell word: as it is when it needs no quoting, else single-quoted. */
function shellWord(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
