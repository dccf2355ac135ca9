/** The order names are listed in everywhere: numbers inside names by value, so d1, d2, d10 (not d1, d10, d2). */
// Made on the first comparison: building an ICU collator takes ~15 ms, which a handler that sorts nothing must not pay.
let collator: Intl.Collator | undefined;

/** Natural order of two names; names the collator holds equal ('d01', 'd1') fall back to code-unit order, so the order is total. */
export function naturalCompare(a: string, b: string): number {
  collator ??= new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}
