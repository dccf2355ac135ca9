/** The overview page: capacity per host and root, what needs attention, and the storage table (sortable, filterable). */
import { html } from 'hono/html';
import type { FilesystemUsage, HostData, OverviewData, StorageRow } from '../api.js';
import { usedPercent } from '../../host/fs-usage.js';
import { badge, bytes, duration, page, storageHref, time, type Html } from './layout.js';

const GIB = 1024 ** 3;

export function overviewPage(data: OverviewData, hosts: readonly HostData[]): Html {
  const rows = hosts.flatMap((h) => h.storage);
  return page(
    'overview',
    html`<h1>Storage overview</h1>
<p class="meta">read at ${time(data.generatedAt)} · ${rows.length} storage${rows.length === 1 ? '' : 's'} on ${hosts.length} host${hosts.length === 1 ? '' : 's'}</p>
${capacity(data)} ${attention(data)}
<section id="storage-section">
<h2>Storage</h2>
<p><label for="filter">Filter</label> <input id="filter" type="search" placeholder="name, project, kind, state, host" autocomplete="off"> <span id="filter-count" class="meta"></span></p>
${storageTable(rows)}
</section>`,
  );
}

function capacity(data: OverviewData): Html {
  const rows = data.hosts.flatMap((h) =>
    h.error
      ? [
          html`<tr class="host-error" data-host="${h.host}"><td>${h.host}</td><td colspan="7"><span class="badge bad">unreachable</span> ${h.error}</td></tr>`,
        ]
      : h.roots.map(
          (r) => html`<tr data-host="${h.host}" data-root="${r.root}">
<td>${h.host}</td><td><code>${r.root}</code></td><td class="num">${r.storageCount}</td><td class="num">${bytes(r.sizeBytes)}</td>
<td class="num">${bytes(r.nominalBytes)}</td><td class="num">${bytes(r.allocatedBytes)}</td><td class="num">${bytes(r.freeBytes)}</td>
<td class="num">${r.overcommit.toFixed(2)}×${r.overcommit > 1 ? html` <span class="badge warn">overcommitted</span>` : ''}</td></tr>`,
        ),
  );
  return html`<section id="capacity">
<h2>Capacity</h2>
<table><thead><tr><th>host</th><th>root</th><th class="num">storage</th><th class="num">size</th><th class="num">nominal</th><th class="num">allocated</th><th class="num">free</th><th class="num">overcommit</th></tr></thead>
<tbody>${rows}</tbody></table>
</section>`;
}

function attention(data: OverviewData): Html {
  const items = data.attention.map(
    (a) =>
      html`<li data-what="${a.what}" class="${a.severity}"><span class="badge ${a.severity === 'error' ? 'bad' : 'warn'}">${a.severity}</span> ${a.message}</li>`,
  );
  return html`<section id="attention">
<h2>Needs attention</h2>
${items.length === 0 ? html`<p class="calm">Nothing needs attention.</p>` : html`<ul>${items}</ul>`}
</section>`;
}

const COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['name', 'name'],
  ['kind', 'kind'],
  ['project', 'project'],
  ['host', 'host'],
  ['size', 'size'],
  ['used', 'used'],
  ['state', 'state'],
  ['mounts', 'mounts'],
  ['lease', 'lease'],
  ['backup', 'backup'],
];

function storageTable(rows: readonly StorageRow[]): Html {
  const heads = COLUMNS.map(([key, label]) =>
    key === 'mounts' || key === 'lease'
      ? html`<th>${label}</th>`
      : html`<th data-sort="${key}"><button type="button">${label}</button></th>`,
  );
  return html`<table id="storage"><thead><tr>${heads}</tr></thead>
<tbody>${rows.map(storageRow)}</tbody></table>
${rows.length === 0 ? html`<p class="calm">No storage on these roots.</p>` : ''}`;
}

function storageRow(s: StorageRow): Html {
  const usage = s.usage;
  const size = s.sizeGb === undefined ? undefined : s.sizeGb * GIB;
  const mounts = s.mounts.map(
    (m) => `${m.service}[${m.replica}]${m.readOnly ? ' ro' : ''}${m.mounted ? '' : ' (not mounted)'}`,
  );
  const backup = s.backup;
  return html`<tr data-name="${s.name}" data-kind="${s.kind}" data-project="${s.project}" data-host="${s.host}" data-root="${s.root}" data-state="${s.state}">
<td data-value="${s.name}"><a class="storage-link" href="${storageHref(s)}">${s.name}</a></td>
<td>${s.kind}</td><td>${s.project || '-'}</td><td>${s.host}</td>
<td class="num" data-value="${size ?? -1}">${s.sizeGb === undefined ? '-' : `${s.sizeGb} GB`}${s.filesystem ? html` <span class="meta">${s.filesystem}</span>` : ''}</td>
<td data-value="${usage ? usage.usedBytes : -1}">${usage ? usageBar(usage) : '-'}</td>
<td data-value="${s.state}">${badge(s.state)}</td>
<td>${mounts.join(', ') || '-'}</td>
<td>${s.lease ? `${s.lease.service}[${s.lease.replica}]` : '-'}</td>
<td data-value="${backup ? `${backup.state} ${String(backup.lagSeconds ?? 0).padStart(12, '0')}` : ''}">${backup ? html`${badge(backup.state)} <span class="meta">lag ${duration(backup.lagSeconds)}</span>` : '-'}</td>
</tr>`;
}

/** How full the filesystem is: a meter (its text for those who cannot see it) and the figures. */
function usageBar(u: FilesystemUsage): Html {
  // As df's Use%: of what users can fill (a reserve they cannot write to is not room).
  const percent = usedPercent(u);
  const room = u.usedBytes + u.freeBytes;
  return html`<meter class="usage" min="0" max="${room}" value="${u.usedBytes}" low="${Math.round(room * 0.8)}" high="${Math.round(room * 0.9)}" optimum="0">${percent}%</meter> <span class="meta">${bytes(u.usedBytes)} of ${bytes(u.sizeBytes)} (${percent}%)</span>`;
}
