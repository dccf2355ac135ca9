/** A storage's page: what it is, its mounts, lease, snapshots, backups, and its history as a timeline. */
import { html } from 'hono/html';
import type { StorageDetail } from '../data.js';
import { badge, bytes, duration, page, time, type Html } from './layout.js';

export function storagePage(d: StorageDetail): Html {
  const s = d.storage;
  const usage = s.usage;
  return page(
    s.name,
    html`<h1>${s.name}</h1>
<p class="meta">${s.kind}${s.project ? html` in project <strong>${s.project}</strong>` : ''}${s.stack ? ` (stack ${s.stack})` : ''} on host <strong>${s.host}</strong>, root <code>${s.root}</code></p>
<section id="summary"><dl class="facts">
<dt>state</dt><dd>${badge(s.state)}</dd>
<dt>size</dt><dd>${s.sizeGb === undefined ? '-' : `${s.sizeGb} GB`}${s.filesystem ? ` ${s.filesystem}` : ''}</dd>
<dt>allocated</dt><dd>${bytes(s.allocatedBytes)}</dd>
<dt>used</dt><dd>${usage ? `${bytes(usage.usedBytes)} of ${bytes(usage.sizeBytes)} (${usage.source})` : '-'}</dd>
<dt>removal policy</dt><dd>${s.removalPolicy ?? '-'}</dd>
<dt>created</dt><dd>${time(s.createdAt)}</dd>
<dt>path</dt><dd><code>${s.path}</code></dd>
</dl></section>
${mounts(d)} ${lease(d)} ${snapshots(d)} ${backups(d)} ${historyList(d)}`,
  );
}

function mounts(d: StorageDetail): Html {
  const rows = d.storage.mounts.map(
    (m) =>
      html`<tr><td>${m.project}/${m.service}</td><td class="num">${m.replica}</td><td><code>${m.mountPath}</code></td><td><code>${m.hostPath}</code></td><td>${m.readOnly ? 'read-only' : 'read-write'}</td><td>${badge(m.mounted ? 'mounted' : 'missing')}</td></tr>`,
  );
  return html`<section id="mounts"><h2>Mounts</h2>
${rows.length === 0 ? html`<p class="calm">Not mounted by any service.</p>` : html`<table><thead><tr><th>service</th><th class="num">replica</th><th>mount path</th><th>host path</th><th>mode</th><th>state</th></tr></thead><tbody>${rows}</tbody></table>`}
</section>`;
}

function lease(d: StorageDetail): Html {
  const l = d.leases[0];
  return html`<section id="lease"><h2>Lease</h2>
${
  d.storage.kind !== 'disk'
    ? html`<p class="calm">Volumes have no lease (only disks do).</p>`
    : l
      ? html`<p>held by <strong>${l.project}/${l.service}</strong> replica ${l.replica} since ${time(l.since)} at <code>${l.hostPath}</code> ${l.stale ? html`<span class="badge warn">stale</span> its mount is gone` : html`<span class="badge good">live</span>`}</p>`
      : html`<p class="calm">Not leased.</p>`
}
</section>`;
}

function snapshots(d: StorageDetail): Html {
  const rows = [...d.snapshots]
    .reverse()
    .map(
      (s) =>
        html`<tr data-snapshot="${s.id}" data-state="${s.state}"><td><code>${s.id}</code></td><td>${time(s.createdAt)}</td><td>${s.trigger}</td><td>${s.method}</td><td class="num">${bytes(s.allocatedBytes)}</td><td>${badge(s.state)}${s.verified ? html` <span class="meta">checked ${time(s.verified.at)}</span>` : ''}</td></tr>`,
    );
  return html`<section id="snapshots"><h2>Snapshots</h2>
${
  rows.length === 0
    ? html`<p class="calm">No snapshots.</p>`
    : html`<table><thead><tr><th>id</th><th>taken</th><th>trigger</th><th>method</th><th class="num">size</th><th>state</th></tr></thead><tbody>${rows}</tbody></table>
<p class="meta">The state is the one recorded by the last verification; <em>unverified</em> means only a new hash could tell (<code>hoststore snapshot list</code> hashes it).</p>`
}
</section>`;
}

function backups(d: StorageDetail): Html {
  const rows = d.backups.map(
    (b) =>
      html`<tr data-repository="${b.repository}" data-state="${b.state}"><td>${b.repository}</td><td>${badge(b.state)}</td><td>${duration(b.lagSeconds)}</td><td>${time(b.lastPushedAt)}</td><td>${b.lastBackupId ? html`<code>${b.lastBackupId.slice(0, 8)}</code>` : '-'}</td><td>${b.error ?? ''}</td></tr>`,
  );
  return html`<section id="backups"><h2>Backups</h2>
${rows.length === 0 ? html`<p class="calm">Not replicated off the host.</p>` : html`<table><thead><tr><th>repository</th><th>state</th><th>lag</th><th>last push</th><th>backup</th><th>error</th></tr></thead><tbody>${rows}</tbody></table>`}
</section>`;
}

function historyList(d: StorageDetail): Html {
  const items = d.history.map(
    (e) =>
      html`<li data-event="${e.event}">${time(e.time)} <span class="event">${e.event}</span> <span class="actor">by ${e.actor}</span> <span class="message">${e.message}</span>${e.reason ? html` <span class="reason">${e.reason}</span>` : ''}</li>`,
  );
  return html`<section id="history-section"><h2>History</h2>
<ol id="history">${items}</ol>
${items.length === 0 ? html`<p class="calm">No events recorded for it.</p>` : ''}
</section>`;
}
