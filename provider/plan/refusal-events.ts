/**
 * A whole plan refused before anything ran (`hoststore apply`, a project's converge under Terraform): each
 * refused item that names a storage goes in that storage's journal, with the refusal as the user read it.
 */
import { environmentClock } from '../clock.js';
import { storageOfSpec, type Change } from '../handlers/handler.js';
import { recordRefusal } from '../journal/storage-event.js';
import type { Plan } from './plan.js';

/** Records the refusal of each item with a change that `stops` it; only for plans of roots on this host. */
export function recordPlanRefusals(plan: Plan, stops: (change: Change, item: Plan['items'][number]) => boolean): void {
  const now = environmentClock();
  for (const item of plan.items) {
    const blocked = item.changes.filter((c) => stops(c, item));
    const about = storageOfSpec(item.spec);
    if (blocked.length === 0 || !about || !item.spec?.root) continue;
    const reasons = blocked.map((c) => c.reason ?? `${c.field} ${c.from ?? ''} -> ${c.to ?? ''}`).join('; ');
    recordRefusal({ root: item.spec.root, now }, about, `${item.subject}: refused: ${reasons}`);
  }
}

/** What `assertApplicable` refuses: refused changes, and data loss the user did not name with --allow-data-loss. */
export function applyStops(allowDataLoss: ReadonlySet<string>): (c: Change, item: Plan['items'][number]) => boolean {
  return (c, item) =>
    c.safety === 'refused' ||
    (c.safety === 'data-loss' && item.safety === 'data-loss' && !allowDataLoss.has(item.name));
}
