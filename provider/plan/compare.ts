/**
 * `hoststore diff`: what a pull request changes, from two synth outputs and no host. Each resource is
 * matched by its place (src/kinds.ts) and each field change gets the class the table gives it, with the
 * base output standing in for the host (the storage is mounted while it changes if the base mounts it).
 * The host is part of the place: a project moved to another host (or between this machine and a host)
 * gets new storage there, and its old things stay where they were.
 */
import { classifyChanges, placeFields, type ObservedStorage } from '../../src/kinds.js';
import type { Change } from '../handlers/handler.js';
import type { DesiredSpec } from './desired.js';
import { SAME_MACHINE } from '../remote/host-moved.js';
import { finish, itemAction, worst, type Plan, type PlanAction, type PlanItem } from './plan.js';
import { replacedDataChange, seenInSynth } from './replaced-data.js';
import { commandHint } from '../command-hint.js';

function key(d: DesiredSpec): string {
  return `${d.kind}|${placeFields(d.kind)
    .map((f) => d.spec[f])
    .join('|')}`;
}

/** The place without the host: a moved project's thing has the same one on both hosts. */
function keyOnAnyHost(d: DesiredSpec): string {
  return `${d.kind}|${placeFields(d.kind)
    .filter((f) => f !== 'host')
    .map((f) => d.spec[f])
    .join('|')}`;
}

/** The place without the host and the root: a moved project may also have been given another root. */
function keyOnAnyHostAndRoot(d: DesiredSpec): string {
  return `${d.kind}|${placeFields(d.kind)
    .filter((f) => f !== 'host' && f !== 'root')
    .map((f) => d.spec[f])
    .join('|')}`;
}

/**
 * Where each project of an output is (`<host or local>|<root>`), by stack and project name. A thing of the
 * base whose project is now only on other hosts and under another root moved with it: deploy never touches
 * it (the deletes Terraform runs for the old things go to the new host, which retains them, and the new
 * manifest converges the new host's root only). With the same root, the new address may reach the same
 * machine (a new DNS name for it), where what the code removed is removed: that stays a removal.
 */
function projectPlaces(specs: readonly DesiredSpec[]): Map<string, Array<{ host: string; root: string }>> {
  const places = new Map<string, Array<{ host: string; root: string }>>();
  for (const d of specs) {
    if (d.kind !== 'project') continue;
    const k = `${d.stack}|${d.spec.project}`;
    places.set(k, [...(places.get(k) ?? []), { host: d.spec.host ?? 'local', root: d.spec.root }]);
  }
  return places;
}

/** The command that deletes storage `spec` by hand, on its host. */
function deleteHint(spec: Record<string, string>): string {
  // --force: a moved project's storage is still mounted on the old host (nothing there unmounts it).
  return `\`${commandHint(spec.root, `delete ${spec.name}${spec.kind === 'disk' ? '' : ` --project ${spec.project}`} --force`)}\``;
}

/** Where a spec's thing is, for a reason: `host storage-1.internal`, or this machine for a local project. */
function hostName(spec: Record<string, string>): string {
  return spec.host === undefined ? 'this machine (no host)' : `host ${spec.host}`;
}

/**
 * A thing of a project that moved from `from`'s host to `to`'s: new (storage: empty) on the new host while
 * the old one stays on the old host, its data kept whatever its removal policy (the delete of a moved thing
 * does nothing on either host). Never safe for storage: the services start on the new host without their data.
 */
function movedChange(from: DesiredSpec, to: DesiredSpec): Change | undefined {
  if (to.kind !== 'storage') return undefined;
  const [a, b] = [hostName(from.spec), hostName(to.spec)];
  const what = `${to.spec.kind} ${to.spec.name}`;
  return {
    field: 'host',
    from: from.spec.host ?? 'local',
    to: to.spec.host ?? 'local',
    kind: 'replace',
    safety: 'data-loss',
    reason: `the project moved from ${a} to ${b}: ${what} is created there new and empty, and the old one with its data is retained on ${a} (nothing is deleted there). Copy the data across before the services use it, or keep the project on ${a}; the old one is deleted only by ${deleteHint(from.spec)} run on ${a}. ${SAME_MACHINE}`,
  };
}

/** What becomes of the old thing of a moved project: it stays on its host as it is. */
function leftOnOldHost(d: DesiredSpec, to: DesiredSpec): Change {
  const [a, b] = [hostName(d.spec), hostName(to.spec)];
  const what = subject(d).subject;
  const fate =
    d.kind === 'storage'
      ? `retained on ${a} with its data (its removalPolicy is not applied on a move); delete it there with ${deleteHint(d.spec)}`
      : d.kind === 'mount'
        ? `left mounted on ${a} (a move unmounts nothing there)`
        : `left on ${a}, where it keeps taking snapshots until it is removed there`;
  return { field: d.kind, from: what, kind: 'retain', safety: 'safe', reason: `the project moved to ${b}: ${fate}` };
}

function subject(d: DesiredSpec): { subject: string; name: string } {
  const { subject: what, name } = subjectHere(d);
  return { subject: d.spec.host === undefined ? what : `${what} on ${d.spec.host}`, name };
}

function subjectHere(d: DesiredSpec): { subject: string; name: string } {
  const s = d.spec;
  if (d.kind === 'storage')
    return {
      subject: `${s.kind} ${s.name}${s.size_gb ? ` ${s.size_gb} GB` : ''}${s.filesystem ? ` ${s.filesystem}` : ''}`,
      name: s.name,
    };
  if (d.kind === 'mount')
    return {
      subject: `mount ${s.storage} -> ${s.service}[${s.replica}]:${s.mount_path}${s.read_only === 'true' ? ' (ro)' : ''}`,
      name: s.storage,
    };
  return { subject: `snapshot policy ${s.policy} of ${s.storage} '${s.schedule}'`, name: s.storage };
}

/** The storage as the base output leaves it: mounted when a Mount on its host shows it (a disk from any project). */
function observedIn(base: readonly DesiredSpec[], storage: Record<string, string>): ObservedStorage {
  const mounted = base.some(
    (d) =>
      d.kind === 'mount' &&
      d.spec.host === storage.host &&
      d.spec.root === storage.root &&
      d.spec.storage === storage.name &&
      d.spec.storage_kind === storage.kind &&
      (storage.kind === 'disk' || d.spec.project === storage.project),
  );
  return { mounted, filesystem: storage.filesystem };
}

/** What removing storage from the code does, by its removal policy (the project handler's retire does the same). */
const STORAGE_REMOVAL: Record<string, { action: 'delete' | 'retain'; safety: Change['safety']; reason: string }> = {
  destroy: {
    action: 'delete',
    safety: 'data-loss',
    reason: "removed from the code with removalPolicy 'destroy': its data is deleted",
  },
  snapshot: {
    action: 'delete',
    safety: 'safe',
    reason:
      "removed from the code with removalPolicy 'snapshot': a final snapshot is taken and verified, then the storage is deleted",
  },
  retain: { action: 'retain', safety: 'safe', reason: 'removed from the code: retained, data kept' },
};

function removal(d: DesiredSpec): { action: PlanAction; change: Change } {
  if (d.kind === 'storage') {
    const { action, safety, reason } = STORAGE_REMOVAL[d.spec.removal_policy] ?? STORAGE_REMOVAL.retain;
    return { action, change: { field: 'storage', from: d.spec.name, kind: action, safety, reason } };
  }
  return {
    action: 'delete',
    change: {
      field: d.kind,
      from: subject(d).subject,
      kind: 'delete',
      safety: 'safe',
      reason: d.kind === 'mount' ? 'unmount (data stays on the storage)' : 'policy removed (snapshots stay)',
    },
  };
}

/** The removal policy `desired` gives the storage a service saw, if it declares it. */
function policyIn(
  desired: readonly DesiredSpec[],
  seen: { project: string; storage: string; storageKind: string },
): string | undefined {
  const found = desired.find(
    (d) =>
      d.kind === 'storage' &&
      d.spec.project === seen.project &&
      d.spec.name === seen.storage &&
      d.spec.kind === seen.storageKind,
  );
  return found?.spec.removal_policy;
}

export function compareDesired(base: DesiredSpec[], next: DesiredSpec[], now = new Date()): Plan {
  const before = new Map(base.filter((d) => d.kind !== 'project').map((d) => [key(d), d]));
  const after = new Map(next.filter((d) => d.kind !== 'project').map((d) => [key(d), d]));
  // What the base has at a place the new output has only on another host: the project moved.
  const gone = [...before].filter(([k]) => !after.has(k)).map(([, d]) => d);
  const movedFrom = new Map(gone.map((d) => [keyOnAnyHost(d), d]));
  const movedFromOtherRoot = new Map(gone.map((d) => [keyOnAnyHostAndRoot(d), d]));
  const nextPlaces = projectPlaces(next);
  /** Where a base thing's project is now, when that is only on other hosts and roots (the project moved). */
  const movedAway = (d: DesiredSpec): string | undefined => {
    const now = nextPlaces.get(`${d.stack}|${d.spec.project}`);
    if (!now || now.some((p) => p.host === (d.spec.host ?? 'local') || p.root === d.spec.root)) return undefined;
    return [...new Set(now.map((p) => p.host))].join(', ');
  };
  const movedTo = new Map<DesiredSpec, DesiredSpec>();
  const items: PlanItem[] = [];
  for (const [k, d] of after) {
    const old = before.get(k);
    const { subject: what, name } = subject(d);
    if (!old) {
      const sameRoot = movedFrom.get(keyOnAnyHost(d));
      const otherRoot = movedFromOtherRoot.get(keyOnAnyHostAndRoot(d));
      const from = sameRoot ?? (otherRoot && otherRoot.spec.host !== d.spec.host ? otherRoot : undefined);
      if (from) movedTo.set(from, d);
      const moved = from && movedChange(from, d);
      const change: Change = {
        field: d.kind,
        to: what,
        kind: 'create',
        safety: 'safe',
        reason:
          d.kind === 'storage' && d.spec.kind === 'disk' ? 'created, or reused by name if the disk exists' : undefined,
      };
      const replaced =
        d.kind === 'storage'
          ? replacedDataChange(d.spec, next, seenInSynth(base), (seen) =>
              policyIn(next, seen) ? 'retain' : policyIn(base, seen),
            )
          : undefined;
      const changes = [change, ...(moved ? [moved] : []), ...(replaced ? [replaced] : [])];
      items.push({
        stack: d.stack,
        address: d.address,
        kind: d.kind,
        subject: what,
        name,
        action: 'create',
        safety: worst(changes),
        changes,
        spec: d.spec,
      });
      continue;
    }
    const observed = d.kind === 'storage' ? observedIn(base, old.spec) : undefined;
    const all = classifyChanges(d.kind, old.spec, d.spec, observed);
    // Notes (a disk's smaller size, kept) are said, and change nothing.
    const changes = [
      ...all.filter((c) => c.kind !== 'kept' && c.kind !== 'note'),
      ...all.filter((c) => c.kind === 'kept' || c.kind === 'note'),
    ];
    const acting = changes.filter((c) => c.kind !== 'kept' && c.kind !== 'note');
    items.push({
      stack: d.stack,
      address: d.address,
      kind: d.kind,
      subject: what,
      name,
      action: acting.length ? itemAction('update', acting) : 'no-op',
      safety: worst(changes),
      changes,
      spec: d.spec,
    });
  }
  for (const [k, d] of before) {
    if (after.has(k)) continue;
    const nowOn = movedAway(d);
    const to: DesiredSpec | undefined =
      movedTo.get(d) ?? (nowOn === undefined ? undefined : { ...d, spec: nowOn === 'local' ? {} : { host: nowOn } });
    const { action, change } = to ? { action: 'retain' as const, change: leftOnOldHost(d, to) } : removal(d);
    const { subject: what, name } = subject(d);
    items.push({
      stack: d.stack,
      address: `${d.address} (${to ? `left on ${hostName(d.spec)}` : 'removed from code'})`,
      kind: d.kind,
      subject: what,
      name,
      action,
      safety: change.safety,
      changes: [change],
    });
  }
  return finish({
    version: 1,
    createdAt: now.toISOString(),
    roots: [...new Set(next.map((d) => d.spec.root).filter(Boolean))],
    items,
    checks: [],
  });
}
