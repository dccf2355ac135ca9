/** A journal text (message, reason) as one line a person reads: no line breaks or control characters, capped. */

/** The longest message or reason a line holds: a person reads it, and the reader skips longer lines. */
export const MAX_TEXT_CHARS = 1000;

/** One line (control characters and line breaks become spaces), at most MAX_TEXT_CHARS, never a split surrogate pair. */
export function oneLine(text: string): string {
  const flat = text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
  if (flat.length <= MAX_TEXT_CHARS) return flat;
  let cut = flat.slice(0, MAX_TEXT_CHARS - 1);
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}
