/** The page frame every dashboard page shares, and the small pieces the views use (times, sizes, states). */
import { html } from 'hono/html';
import { formatBytes } from '../../commands/format.js';

export type Html = ReturnType<typeof html>;

/** A page: its title, the navigation, the body; one stylesheet and one script, both from /assets (no inline code). */
export function page(title: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · hoststore</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/dashboard.js" defer></script>
</head>
<body>
<header class="top"><a class="brand" href="/">hoststore</a><nav><a href="/">overview</a> <a href="/plan">plan</a></nav><span class="note">read-only</span></header>
<main>
${body}
</main>
</body>
</html>`;
}

/** A time as ISO UTC in a <time>, or `-`. */
export function time(iso: string | undefined): Html | string {
  if (!iso) return '-';
  const shown = iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return html`<time datetime="${iso}">${shown}</time>`;
}

export const bytes = (n: number | undefined): string => formatBytes(n);

/** A duration in seconds, for lags: `0 s`, `5 min`, `3.2 h`, `2.0 d`. */
export function duration(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

/** Classes of a state for its colour; the state's text is always shown beside it. */
export function tone(state: string | undefined): string {
  switch (state) {
    case 'ok':
    case 'in-sync':
    case 'mounted':
    case 'safe':
      return 'good';
    case 'behind':
    case 'unverified':
    case 'retained':
    case 'stopped':
    case 'downtime':
    case 'warning':
      return 'warn';
    case 'failing':
    case 'changed':
    case 'missing':
    case 'data-loss':
    case 'refused':
    case 'error':
      return 'bad';
    default:
      return 'plain';
  }
}

export function badge(state: string | undefined): Html | string {
  if (!state) return '-';
  return html`<span class="badge ${tone(state)}">${state}</span>`;
}

/** The link of a storage's page. */
export function storageHref(s: { host: string; kind: string; name: string; root: string; project: string }): string {
  const q = new URLSearchParams({ root: s.root, project: s.project });
  return `/storage/${encodeURIComponent(s.host)}/${encodeURIComponent(s.kind)}/${encodeURIComponent(s.name)}?${q}`;
}
