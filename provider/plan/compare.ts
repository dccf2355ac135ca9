/**
 * `hoststore diff`: what a pull request changes, from two synth outputs and no host. Each resource is
 * matched by identity; field changes get the safety class the handlers would give them.
 */
import type { Change } from '../handlers/handler.js';
import type { DesiredSpec } from './desired.js';
import { finish, worst, type Plan, type PlanAction, type PlanItem } from './plan.js';
import { replacedDataChange, seenInSynth } from './replaced-data.js';

const IDENTITY: Record<DesiredSpec['kind'], string[]> = {
  storage: ['root', 'kind', 'project', 'name'],
  mount: ['root', 'project', 'service', 'replica', 'mount_path'],
  'snapshot-policy': ['root', 'project', 'policy', 'storage'],
  project: ['root', 'project', 'stack'],
};
const IGNORED = new Set(['stack', 'host_path']);

function key(d: DesiredSpec): string {
  return `${d.kind}|${IDENTITY[d.kind].map((f) => d.spec[f]).join('|')}`;
}

function subject(d: DesiredSpec): { subject: string; name: string } {
  const s = d.spec;
  if (d.kind === 'storage') return { subject: `${s.kind} ${s.name}${s.size_gb ? ` ${s.size_gb} GB` : ''}${s.filesystem ? ` ${s.filesystem}` : ''}`, name: s.name };
  if (d.kind === 'mount') return { subject: `mount ${s.storage} -> ${s.service}[${s.replica}]:${s.mount_path}${s.read_only === 'true' ? ' (ro)' : ''}`, name: s.storage };
  return { subject: `snapshot policy ${s.policy} of ${s.storage} '${s.schedule}'`, name: s.storage };
}

function fieldChange(kind: DesiredSpec['kind'], field: string, from: string, to: string, spec: Record<string, string>): Change {
  const what = `${spec.kind ?? spec.storage_kind} ${spec.name ?? spec.storage}`;
  if (kind === 'storage' && field === 'size_gb') {
    const [a, b] = [Number(from || 0), Number(to || 0)];
    if (to === '') return { field, from, to, safety: 'safe', reason: 'size no longer given: the existing size is kept' };
    if (b < a && spec.kind === 'disk') return { field, from, to, safety: 'safe', reason: `the disk exists: kept at ${a} GB; sizeGb ${b} ignored (a disk is never shrunk)` };
    if (b < a) return { field, from, to, safety: 'refused', reason: `${what}: shrinking from ${a} GB to ${b} GB could cut off data; hoststore refuses it` };
    return spec.filesystem === 'ext4'
      ? { field, from, to, safety: 'downtime', reason: 'grow in place; ext4 is unmounted for a moment where the kernel refuses online resize' }
      : { field, from, to, safety: 'safe', reason: 'grow in place, online' };
  }
  if (kind === 'storage' && field === 'filesystem') {
    return { field, from, to, safety: 'refused', reason: `${what}: changing ${from} to ${to} means reformatting, which erases its data; hoststore refuses it` };
  }
  if (kind === 'storage' && field === 'removal_policy' && to === 'destroy') {
    return { field, from, to, safety: 'safe', reason: 'removing this storage from the code will then delete its data' };
  }
  if (field === 'read_only') return { field, from, to, safety: 'safe', reason: 'remount in place' };
  return { field, from, to, safety: 'safe' };
}

function removal(d: DesiredSpec): { action: PlanAction; change: Change } {
  if (d.kind === 'storage') {
    const policy = d.spec.removal_policy;
    if (policy === 'destroy') return { action: 'delete', change: { field: 'storage', from: d.spec.name, safety: 'data-loss', reason: "removed from the code with removalPolicy 'destroy': its data is deleted" } };
    if (policy === 'snapshot') return { action: 'delete', change: { field: 'storage', from: d.spec.name, safety: 'safe', reason: "removed from the code with removalPolicy 'snapshot': a final snapshot is taken and verified, then the storage is deleted" } };
    return { action: 'retain', change: { field: 'storage', from: d.spec.name, safety: 'safe', reason: 'removed from the code: retained, data kept' } };
  }
  return { action: 'delete', change: { field: d.kind, from: subject(d).subject, safety: 'safe', reason: d.kind === 'mount' ? 'unmount (data stays on the storage)' : 'policy removed (snapshots stay)' } };
}

/** The removal policy `desired` gives the storage a service saw, if it declares it. */
function policyIn(desired: readonly DesiredSpec[], seen: { project: string; storage: string; storageKind: string }): string | undefined {
  const found = desired.find((d) => d.kind === 'storage' && d.spec.project === seen.project && d.spec.name === seen.storage && d.spec.kind === seen.storageKind);
  return found?.spec.removal_policy;
}

export function compareDesired(base: DesiredSpec[], next: DesiredSpec[], now = new Date()): Plan {
  const before = new Map(base.filter((d) => d.kind !== 'project').map((d) => [key(d), d]));
  const after = new Map(next.filter((d) => d.kind !== 'project').map((d) => [key(d), d]));
  const items: PlanItem[] = [];
  for (const [k, d] of after) {
    const old = before.get(k);
    const { subject: what, name } = subject(d);
    if (!old) {
      const change: Change = { field: d.kind, to: what, safety: 'safe', reason: d.kind === 'storage' && d.spec.kind === 'disk' ? 'created, or reused by name if the disk exists' : undefined };
      const replaced = d.kind === 'storage' ? replacedDataChange(d.spec, next, seenInSynth(base), (seen) => (policyIn(next, seen) ? 'retain' : policyIn(base, seen))) : undefined;
      const changes = replaced ? [change, replaced] : [change];
      items.push({ stack: d.stack, address: d.address, kind: d.kind, subject: what, name, action: 'create', safety: worst(changes), changes, spec: d.spec });
      continue;
    }
    const changes = Object.keys({ ...old.spec, ...d.spec })
      .filter((f) => !IGNORED.has(f) && (old.spec[f] ?? '') !== (d.spec[f] ?? ''))
      .map((f) => fieldChange(d.kind, f, old.spec[f] ?? '', d.spec[f] ?? '', d.spec));
    items.push({ stack: d.stack, address: d.address, kind: d.kind, subject: what, name, action: changes.length ? 'update' : 'no-op', safety: worst(changes), changes, spec: d.spec });
  }
  for (const [k, d] of before) {
    if (after.has(k)) continue;
    const { action, change } = removal(d);
    const { subject: what, name } = subject(d);
    items.push({ stack: d.stack, address: `${d.address} (removed from code)`, kind: d.kind, subject: what, name, action, safety: change.safety, changes: [change] });
  }
  return finish({ version: 1, createdAt: now.toISOString(), roots: [...new Set(next.map((d) => d.spec.root).filter(Boolean))], items, checks: [] });
}
