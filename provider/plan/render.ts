/**
 * Plan renderings: text (Terraform-like symbols and a summary line), markdown for a pull-request comment
 * (data at risk first, no-ops collapsed), and JSON (the Plan object itself; see README for the schema).
 */
import type { Plan, PlanAction, PlanItem } from './plan.js';

const SYMBOL: Record<PlanAction, string> = {
  create: '+',
  adopt: '<=',
  update: '~',
  replace: '-+',
  repair: '!',
  delete: '-',
  retain: '-/',
  'no-op': ' ',
};
/** The order changes are listed in where risk matters (markdown, the dashboard's plan page): riskiest first. */
export const RISK_ORDER = ['refused', 'data-loss', 'downtime', 'safe'];

/** A change's fields as `field: from -> to (reason)`, `; `-separated. */
export function details(item: PlanItem): string {
  return item.changes
    .filter((c) => c.from !== undefined || c.to !== undefined || c.reason)
    .map((c) => {
      const fromTo =
        c.from !== undefined || c.to !== undefined ? `${c.field}: ${c.from ?? '∅'} -> ${c.to ?? '∅'}` : c.field;
      return c.reason ? `${fromTo} (${c.reason})` : fromTo;
    })
    .join('; ');
}

export function summaryLine(plan: Plan): string {
  const s = plan.summary;
  const parts = [
    `${s.create} to create`,
    `${s.adopt} to adopt`,
    `${s.update} to update`,
    ...(s.replace ? [`${s.replace} to replace`] : []),
    `${s.repair} to repair`,
    `${s.retain} to retain`,
    `${s.delete} to delete`,
    `${s['no-op']} unchanged`,
  ];
  const risk = [
    s.refused && `${s.refused} refused`,
    s['data-loss'] && `${s['data-loss']} with data loss`,
    s.downtime && `${s.downtime} with downtime`,
  ].filter(Boolean);
  return `Plan: ${parts.join(', ')}.${risk.length ? ` ${risk.join(', ')}.` : ''}`;
}

export function renderText(plan: Plan): string {
  // A no-op with a note (a disk's smaller sizeGb ignored) is shown too: the plan says what it does not do.
  const lines = plan.items
    .filter((i) => i.action !== 'no-op' || i.changes.some((c) => c.reason))
    .map((i) => {
      const extra = details(i);
      return `${SYMBOL[i.action].padStart(2)} ${i.action.padEnd(7)} ${i.subject}  [${i.safety}]  ${i.address}${extra ? `\n           ${extra}` : ''}`;
    });
  const checks = plan.checks.map((c) => `${c.level}: ${c.message}`);
  const changed = plan.items.some((i) => i.action !== 'no-op');
  return [
    ...lines,
    ...(lines.length ? [''] : []),
    ...(changed ? [] : ['No changes. The host matches the stack.']),
    ...checks,
    summaryLine(plan),
  ].join('\n');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderMarkdown(plan: Plan): string {
  const changed = plan.items
    .filter((i) => i.action !== 'no-op')
    .sort((a, b) => RISK_ORDER.indexOf(a.safety) - RISK_ORDER.indexOf(b.safety));
  const atRisk = changed.filter((i) => i.safety === 'refused' || i.safety === 'data-loss');
  const out: string[] = ['### hoststore plan', ''];
  if (atRisk.length > 0) {
    out.push(`> **${atRisk.length} change(s) put data at risk or are refused:**`);
    for (const i of atRisk) out.push(`> - **${i.safety}**: ${i.action} ${i.subject} — ${details(i) || 'see below'}`);
    out.push('');
  } else {
    out.push('No data at risk.', '');
  }
  if (changed.length > 0) {
    out.push('| safety | action | resource | what | construct |', '| --- | --- | --- | --- | --- |');
    for (const i of changed)
      out.push(`| ${i.safety} | ${i.action} | ${cell(i.subject)} | ${cell(details(i))} | \`${cell(i.address)}\` |`);
    out.push('');
  }
  for (const c of plan.checks) out.push(`- ${c.level === 'error' ? '**error**' : c.level}: ${c.message}`);
  const unchanged = plan.items.filter((i) => i.action === 'no-op');
  if (unchanged.length > 0) {
    out.push('', `<details><summary>${unchanged.length} unchanged</summary>`, '');
    for (const i of unchanged) out.push(`- ${i.subject} (\`${i.address}\`)`);
    out.push('', '</details>');
  }
  out.push('', summaryLine(plan));
  return out.join('\n');
}

export function renderJson(plan: Plan): string {
  return JSON.stringify(plan, null, 2);
}
