/**
 * Tables of the read commands (list, lease-list, snapshot list). On a terminal they fit its width:
 * the widest columns give way first and their cells wrap. Anywhere else (a pipe, a file, CI) they are
 * plain aligned columns, never cut or wrapped, so scripts can parse them.
 */
import Table from 'cli-table3';
import { colours } from './colour.js';

const GAP = 2;
/** A column is never squeezed below this (or its widest cell if narrower); a header may wrap. */
const MIN_COLUMN = 5;

export function table(header: string[], rows: string[][], stream: NodeJS.WriteStream = process.stdout): string {
  if (!stream.isTTY) return plain(header, rows, colours(stream).bold);
  const natural = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const widths = fit(natural, (stream.columns || 80) - GAP * (header.length - 1));
  const blank = Object.fromEntries(
    [
      'top',
      'top-mid',
      'top-left',
      'top-right',
      'bottom',
      'bottom-mid',
      'bottom-left',
      'bottom-right',
      'left',
      'left-mid',
      'mid',
      'mid-mid',
      'right',
      'right-mid',
      'middle',
    ].map((c) => [c, '']),
  );
  const render = (body: string[][]) => {
    const out = new Table({
      head: header,
      chars: blank,
      style: { head: [], border: [], 'padding-left': 0, 'padding-right': GAP },
      // cli-table3's widths include the padding.
      colWidths: widths.map((w) => w + GAP),
      wordWrap: true,
      wrapOnWordBoundary: false,
    });
    out.push(...body);
    return out
      .toString()
      .split('\n')
      .map((line) => line.trimEnd());
  };
  // Bold is added to the header's lines once laid out: cli-table3 counts colour codes as text when it wraps.
  const headerLines = render([]).length;
  const bold = colours(stream).bold;
  return render(rows)
    .map((line, i) => (i < headerLines ? bold(line) : line))
    .join('\n');
}

/** Left-aligned columns, two spaces apart: what scripts and tests read (a bold header only with FORCE_COLOR). */
export function plain(header: string[], rows: string[][], bold: (s: string) => string = (s) => s): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]))
      .join(' '.repeat(GAP))
      .trimEnd();
  return [bold(line(header)), ...rows.map(line)].join('\n');
}

/** Column widths that fit `budget`: the widest column gives up one character at a time, down to its floor. */
export function fit(natural: number[], budget: number): number[] {
  const widths = [...natural];
  const floor = natural.map((w) => Math.min(w, MIN_COLUMN));
  let total = widths.reduce((a, b) => a + b, 0);
  while (total > budget) {
    let widest = -1;
    for (let i = 0; i < widths.length; i += 1)
      if (widths[i] > floor[i] && (widest < 0 || widths[i] > widths[widest])) widest = i;
    if (widest < 0) break; // every column at its floor: the terminal wraps the rest
    widths[widest] -= 1;
    total -= 1;
  }
  return widths;
}
