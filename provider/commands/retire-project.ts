/**
 * `hoststore handle project delete`: the destroy-time provisioner of a project's retirement carrier, which
 * Terraform destroys only with the stack (`cdktf destroy`) or when the project's root, name or stack
 * changes. Retires everything this stack made in the project, in one process under the root's lock, as the
 * converge retires what the code no longer declares: its mounts unmounted, its policies removed, each
 * storage by its removal policy. Retained instead, their data kept where it is: storage that something
 * outside this project still mounts, and, when the code now names another root or project for it
 * (HOSTSTORE_PROJECT_NOW: a move or a rename), its Disks, which are host-wide and go on being the code's.
 * Whoever declares them next (the moved project, the stack that mounts them) adopts them.
 */
import { describeZodError } from '../../src/schema.js';
import { PROJECT_NOW_ENV } from '../../src/manifest-specs.js';
import { projectHandler } from '../handlers/project.js';
import { assertAllowed, makeContext } from '../handlers/handler.js';
import { withRootLock } from '../registry/lock.js';
import { mountKey } from '../registry/keys.js';
import type { StorageRecord } from '../registry/store.js';
import { retainStorage } from '../handlers/storage.js';
import type { StorageIdentity } from '../../src/schema.js';
import { SpecError } from '../errors.js';
import { parseSpecJson } from './handle.js';
import { z } from 'zod';

const projectNow = z.object({ root: z.string(), project: z.string() }).strict();

/** Where the code puts the project now, or undefined (the variable is absent: a retirement by hand). */
function whereNow(raw: string | undefined): { root: string; project: string } | undefined {
  if (raw === undefined || raw === '') return undefined;
  const input = parseSpecJson(raw, PROJECT_NOW_ENV);
  const result = projectNow.safeParse(input);
  if (!result.success)
    throw new SpecError(
      `${PROJECT_NOW_ENV} must be {"root":"...","project":"..."}, as the synthesized provisioner writes it: ${describeZodError(result.error, input)}`,
    );
  return result.data;
}

export async function retireProject(rawIdentity: string | undefined, env: NodeJS.ProcessEnv): Promise<number> {
  const project = projectHandler.validate(parseSpecJson(rawIdentity));
  const now = whereNow(env[PROJECT_NOW_ENV]);
  const moved = now !== undefined && (now.root !== project.root || now.project !== project.project);
  const what = `project ${project.project} (stack ${project.stack})`;
  const log = (line: string) => process.stdout.write(`hoststore: ${line}\n`);
  await withRootLock(project.root, { holder: `hoststore retire ${what}` }, async () => {
    const ctx = makeContext(project.root, { stack: project.stack, rootLocked: true, log });
    const nothing = { ...project, storage: [], mounts: [], policies: [] };
    const orphans = projectHandler.read(ctx, nothing)!;
    const leaving = new Set(orphans.mounts.map((m) => mountKey(m.project, m.service, m.replica, m.mountPath)));
    const keep = (s: StorageRecord): string | undefined => {
      if (moved && s.kind === 'disk') return `the code declares disks in ${now.project} at ${now.root} now`;
      const users = ctx.registry
        .mountsOf(s.kind, s.project, s.name)
        .filter((m) => !leaving.has(mountKey(m.project, m.service, m.replica, m.mountPath)));
      if (users.length > 0)
        return `still mounted by ${users.map((m) => `${m.project}/${m.service} replica ${m.replica}`).join(', ')}`;
      return undefined;
    };
    const kept = orphans.storage.flatMap((s) => {
      const why = keep(s);
      return why ? [{ record: s, why }] : [];
    });
    const retiring = { ...orphans, storage: orphans.storage.filter((s) => keep(s) === undefined) };
    const diff = projectHandler.diff(ctx, nothing, retiring);
    assertAllowed(ctx, what, '', diff);
    await projectHandler.update(ctx, nothing, retiring, diff);
    // What is kept is retained, its data where it is: whoever declares it next (the moved project, the stack
    // that mounts it) adopts it, and its own removal policy then applies.
    for (const { record, why } of kept) {
      const identity = { kind: record.kind, root: project.root, project: record.project, name: record.name };
      await retainStorage(ctx, identity as StorageIdentity, record, `${what} retired; ${why}`);
    }
    log(`${what}: ${diff.changes.length === 0 ? 'nothing to retire' : `retired (${diff.changes.length} changes)`}`);
  });
  return 0;
}
