/**
 * Which host a spec or identity belongs to (its `host` field; none = the machine that runs the deploy), and
 * the one line a delete prints when that is not the host it now runs for: the project moved, so the old
 * storage is retained where it is, untouched, and the line says how to delete it there.
 */
import { commandHint, shellWord } from '../command-hint.js';
import type { KindName } from '../../src/kinds.js';

/** The `host` field of a parsed wire spec or identity, or undefined when it has none. */
/** Two addresses may reach one machine (a new DNS name or IP): then the "old" storage is the one now in use. */
export const SAME_MACHINE =
  'If both addresses reach the same machine, it is the storage the project uses now there: delete nothing';

export function hostOf(input: unknown): string | undefined {
  const host = typeof input === 'object' && input !== null ? (input as Record<string, unknown>).host : undefined;
  return typeof host === 'string' ? host : undefined;
}

const where = (host: string | undefined) => (host === undefined ? 'the machine that runs the deploy' : `host ${host}`);

/** The line for a delete of a thing made on `madeOn` run for `now` (the project moved between hosts). */
export function retainedLine(
  kind: KindName,
  input: unknown,
  madeOn: string | undefined,
  now: string | undefined,
): string {
  const wire = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  // Values from Terraform's state, printed only: anything unusual is shown quoted, never raw on the terminal.
  const text = (key: string) => {
    const value = wire[key];
    if (typeof value !== 'string') return '?';
    return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : JSON.stringify(value);
  };
  const root = typeof wire.root === 'string' ? wire.root : undefined;
  const storageName = wire[kind === 'storage' ? 'name' : 'storage'];
  const storage = typeof storageName === 'string' ? storageName : '?';
  const what =
    kind === 'storage'
      ? `${text('kind')} ${text('name')} (project ${text('project')})`
      : kind === 'mount'
        ? `the mount of ${text('storage')} for ${text('service')} replica ${text('replica')} at ${text('mount_path')} (project ${text('project')})`
        : kind === 'snapshot-policy'
          ? `snapshot policy ${text('policy')} of ${text('storage')} (project ${text('project')})`
          : `project ${text('project')}`;
  const how =
    kind === 'project'
      ? `its storage, mounts and policies stay there as they are; delete what is no longer needed there with ${commandHint(root, 'delete NAME')}`
      : kind === 'storage'
        ? `once nothing there needs it, delete it there with ${commandHint(root, `delete ${shellWord(storage)}${wire.kind === 'disk' || typeof wire.project !== 'string' ? '' : ` --project ${shellWord(wire.project)}`} --force`)} (--force: it is still mounted)`
        : `to remove it there, delete its storage there (${commandHint(root, `delete ${shellWord(storage)} --force`)})`;
  return `hoststore: ${what} was made on ${where(madeOn)}, but this project now deploys to ${where(now)}: it is retained on ${where(madeOn)}, untouched; ${how}. ${SAME_MACHINE}`;
}
