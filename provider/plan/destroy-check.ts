/**
 * `hoststore destroy` checks everything it would do before it does any of it (as `apply` does): storage
 * whose policy deletes data needs --allow-data-loss, and may not be mounted by anything left behind.
 */
import { makeContext } from '../handlers/handler.js';
import { isBorrower, ownerName } from '../handlers/storage-owner.js';
import { storageHandler } from '../handlers/storage.js';
import type { DesiredSpec } from './desired.js';

/** One line per reason the destroy of `desired` must not start; empty when it may. */
export function refusedDestroy(desired: readonly DesiredSpec[], allowDataLoss: ReadonlySet<string>): string[] {
  const refusals: string[] = [];
  const contexts = new Map<string, ReturnType<typeof makeContext>>();
  const ctxFor = (root: string) =>
    contexts.get(root) ??
    contexts.set(root, makeContext(root, { log: () => undefined, cacheRegistry: true })).get(root)!;
  // Mounts this destroy itself removes: project, service, replica and path identify one.
  const leaving = new Set(
    desired
      .filter((d) => d.kind === 'mount')
      .map((d) => `${d.spec.root}|${d.spec.project}|${d.spec.service}|${d.spec.replica}|${d.spec.mount_path}`),
  );
  for (const d of desired) {
    if (d.kind !== 'storage') continue;
    const s = storageHandler.validate(d.spec);
    const ctx = ctxFor(s.root);
    const record = ctx.registry.storage(s.kind, s.project, s.name);
    if (!record || record.state === 'retained' || isBorrower(record, s.project, s.stack)) continue;
    if (record.removalPolicy === 'retain') continue;
    const what = `${s.kind} ${s.name}`;
    if (record.removalPolicy === 'destroy' && !allowDataLoss.has(s.name)) {
      refusals.push(
        `${what} has removalPolicy 'destroy': destroying deletes its data; name it with --allow-data-loss ${s.name}`,
      );
    }
    const staying = ctx.registry
      .mountsOf(record.kind, s.project, s.name)
      .filter((m) => !leaving.has(`${s.root}|${m.project}|${m.service}|${m.replica}|${m.mountPath}`));
    if (staying.length > 0) {
      refusals.push(
        `${what} (${ownerName(record)}, removalPolicy '${record.removalPolicy}') is still mounted by ${staying.map((m) => `${m.project}/${m.service} replica ${m.replica} at ${m.hostPath}`).join(', ')}, which this destroy does not remove; remove those Mounts first`,
      );
    }
  }
  return refusals;
}
