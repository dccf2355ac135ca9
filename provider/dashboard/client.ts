/// <reference lib="dom" />
/**
 * The dashboard's one script (/assets/dashboard.js): sorts the storage table by a clicked header and
 * filters its rows by #filter, keeping the query in location.hash. Served as `(${dashboardClient})();`, so
 * it must stay self-contained: no imports, no closures over module scope. No eval, no innerHTML.
 */
export function dashboardClient(): void {
  const table = document.getElementById('storage') as HTMLTableElement | null;
  const filter = document.getElementById('filter') as HTMLInputElement | null;
  const count = document.getElementById('filter-count');
  if (!table || !table.tBodies[0]) return;
  const body = table.tBodies[0];
  const rows = (): HTMLTableRowElement[] => Array.from(body.rows);
  const headers = Array.from(table.querySelectorAll<HTMLTableCellElement>('th[data-sort]'));

  // A cell's sort key: its data-value when it has one (bytes, states), else its text.
  const keyOf = (row: HTMLTableRowElement, column: number): string => {
    const cell = row.cells[column];
    if (!cell) return '';
    return cell.getAttribute('data-value') ?? (cell.textContent ?? '').trim();
  };
  const compare = (a: string, b: string): number => {
    const x = Number(a);
    const y = Number(b);
    if (a !== '' && b !== '' && !Number.isNaN(x) && !Number.isNaN(y)) return x - y;
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' });
  };
  const sortBy = (header: HTMLTableCellElement, direction: 'ascending' | 'descending'): void => {
    const column = header.cellIndex;
    const sign = direction === 'ascending' ? 1 : -1;
    const sorted = rows()
      .map((row, index) => ({ row, index, key: keyOf(row, column) }))
      .sort((p, q) => sign * compare(p.key, q.key) || p.index - q.index);
    for (const h of headers) h.removeAttribute('aria-sort');
    header.setAttribute('aria-sort', direction);
    for (const { row } of sorted) body.appendChild(row);
  };
  for (const header of headers) {
    const button = header.querySelector('button');
    if (!button) continue;
    button.addEventListener('click', () => {
      sortBy(header, header.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending');
    });
  }

  const applyFilter = (): void => {
    const words = (filter?.value ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const row of rows()) {
      const text = ['name', 'project', 'kind', 'state', 'host']
        .map((k) => row.getAttribute(`data-${k}`) ?? '')
        .join(' ')
        .toLowerCase();
      const match = words.every((w) => text.includes(w));
      row.hidden = !match;
      if (match) shown += 1;
    }
    if (count) count.textContent = words.length ? `${shown} of ${rows().length} shown` : '';
  };
  if (filter) {
    const fromHash = (): void => {
      const raw = location.hash.replace(/^#/, '');
      // A typed or pasted address need not be valid percent-encoding (`#filter=100%`): then it is taken as written.
      let hash = raw;
      try {
        hash = decodeURIComponent(raw);
      } catch {
        /* kept as written */
      }
      const query = hash.startsWith('filter=') ? hash.slice('filter='.length) : '';
      if (filter.value !== query) filter.value = query;
      applyFilter();
    };
    filter.addEventListener('input', () => {
      applyFilter();
      // replaceState: typing must not fill the back button's history.
      history.replaceState(
        null,
        '',
        filter.value ? `#filter=${encodeURIComponent(filter.value)}` : location.pathname + location.search,
      );
    });
    window.addEventListener('hashchange', fromHash);
    fromHash();
  }
}

/** The served script: the function above, called once the page is parsed (the tag has `defer`). */
export const DASHBOARD_JS = `(${dashboardClient.toString()})();\n`;
