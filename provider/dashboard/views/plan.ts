/** The pending plan page: each change of each host with its safety class, riskiest first, as `hoststore plan` classes them. */
import { html } from 'hono/html';
import { details, RISK_ORDER } from '../../plan/render.js';
import type { HostPlan } from '../pending-plan.js';
import { badge, page, time, type Html } from './layout.js';

export function planPage(plans: readonly HostPlan[] | undefined): Html {
  if (!plans)
    return page(
      'plan',
      html`<h1>Pending plan</h1><p class="calm">The plan needs the app's synth output: start the dashboard with <code>hoststore dashboard --app cdktf.out</code> (after <code>cdktf synth</code>).</p>`,
    );
  return page('plan', html`<h1>Pending plan</h1>${planTable(plans)}`);
}

/** One table for every host (`data-safety` on each row), then each host's summary, checks or error. */
function planTable(plans: readonly HostPlan[]): Html {
  const rows = plans.flatMap((p) =>
    (p.plan?.items ?? [])
      .filter((i) => i.action !== 'no-op' || i.changes.some((c) => c.reason))
      .sort((a, b) => RISK_ORDER.indexOf(a.safety) - RISK_ORDER.indexOf(b.safety))
      .map(
        (i) =>
          html`<tr data-safety="${i.safety}" data-action="${i.action}" data-host="${p.host}"><td>${badge(i.safety)}</td><td>${i.action}</td><td>${i.subject}</td><td>${p.host}</td><td>${details(i)}</td><td><code>${i.address}</code></td></tr>`,
      ),
  );
  return html`<table id="plan"><thead><tr><th>safety</th><th>action</th><th>what</th><th>host</th><th>change</th><th>construct</th></tr></thead><tbody>${rows}</tbody></table>
${rows.length === 0 ? html`<p class="calm">No changes. The hosts match the stacks.</p>` : ''}
${plans.map(hostSummary)}`;
}

function hostSummary(p: HostPlan): Html {
  if (!p.plan)
    return html`<section class="host-plan" data-host="${p.host}"><h2>host ${p.host}</h2><p><span class="badge bad">failed</span> ${p.error}</p></section>`;
  const s = p.plan.summary;
  return html`<section class="host-plan" data-host="${p.host}"><h2>host ${p.host}</h2>
<p class="meta">planned at ${time(p.plan.createdAt)}: ${s.create} to create, ${s.adopt} to adopt, ${s.update} to update, ${s.replace} to replace, ${s.repair} to repair, ${s.retain} to retain, ${s.delete} to delete, ${s['no-op']} unchanged</p>
${p.plan.checks.length ? html`<ul class="checks">${p.plan.checks.map((c) => html`<li>${badge(c.level)} ${c.message}</li>`)}</ul>` : ''}
</section>`;
}

export function errorPage(status: number, message: string): Html {
  return page(
    String(status),
    html`<h1>${status === 404 ? 'Not found' : 'Error'}</h1><p class="error-line">${message}</p><p><a href="/">back to the overview</a></p>`,
  );
}
