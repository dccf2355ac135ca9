/**
 * What to declare so a stack adopts storage a `restore --to NAME` made. A Volume is `shared: false` by
 * default and then adopts `<name>-<n>` (one per replica), never `<name>` itself, so "a Volume named NAME"
 * alone would make a new, empty NAME-1 beside the restored data: the hint says `shared: true`, and for a
 * name ending in `-<n>`, the non-shared Volume it is replica n of.
 */
export function adoptHint(kind: 'disk' | 'volume' | 'directory', name: string): string {
  if (kind === 'disk') return `declare a Disk named '${name}' to mount it`;
  if (kind === 'directory') return `declare a Volume named '${name}' with type: 'directory' to mount it`;
  const replica = /^(.+)-([1-9][0-9]*)$/.exec(name);
  return (
    `declare a Volume named '${name}' with shared: true to mount it` +
    (replica ? ` (or a Volume named '${replica[1]}' with shared: false, as its replica ${replica[2]})` : '')
  );
}
