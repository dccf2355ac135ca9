/**
 * The props each construct accepts, one list per construct, and the check that refuses any other prop at
 * synth (from JavaScript, `readonly: true` for `readOnly` would otherwise be ignored without a word).
 */

/**
 * Every prop of `P`, each set to `true`. Typed so the compiler keeps the list and the props interface in
 * step: a prop missing from the list, or a name the interface does not have, fails to compile.
 */
export type PropNames<P> = { readonly [K in keyof Required<P>]: true };

/** `props`' own keys that are not in `known`, each as one message naming the known props and the close match. */
export function unknownPropProblems(props: unknown, known: PropNames<object>, owner: string, prefix = ''): string[] {
  if (typeof props !== 'object' || props === null) return [];
  const names = Object.keys(known);
  return Object.keys(props)
    .filter((key) => !Object.hasOwn(known, key))
    .map((key) => {
      const close = closestName(key, names);
      return `\`${prefix}${key}\` is not a prop of ${owner}; known props: ${names.join(', ')}${close ? ` (did you mean \`${prefix}${close}\`?)` : ''}`;
    });
}

/** The known name a typo most likely meant: same letters in another case, or within a few edits. */
export function closestName(key: string, names: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const sameCase = names.find((n) => n.toLowerCase() === lower);
  if (sameCase) return sameCase;
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(lower, name.toLowerCase());
    if (distance <= Math.max(1, Math.floor(name.length / 3)) && (!best || distance < best.distance))
      best = { name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
