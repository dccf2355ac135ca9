/**
 * A replaced carrier's delete, told apart from a removal. Terraform replaces a carrier whose identity
 * changed and runs its destroy-time delete with the old identity (`self`), but with the current config's
 * block: the delete's `HOSTSTORE_DECLARED` is the identity the same construct declares now, a literal
 * written at synth. When the two differ within one root and project, the thing was renamed, moved or
 * swapped in the code, and the project's converge, which reads everything the code declares, decides its
 * fate: another construct may declare it now (two volumes that swap names), and what nothing declares any
 * more is retired there by its removal policy. Only a delete whose construct still declares the same
 * identity (`terraform destroy`, `-replace`), or whose project or root changed (no converge of the old
 * one will run), acts.
 */
export const DECLARED_ENV = 'HOSTSTORE_DECLARED';

type Identity = Readonly<Record<string, unknown>>;

const sameKeysAndValues = (a: Identity, b: Identity) => {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
};

/** True when `declared` is another identity in the same root, project and host as `old`: the converge decides. */
export function replacedWithinProject(old: Identity, declared: Identity): boolean {
  const same = (key: string) => old[key] === declared[key];
  return same('root') && same('project') && same('host') && !sameKeysAndValues(old, declared);
}
