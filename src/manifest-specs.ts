/**
 * The manifest carrier's per-thing environment entries, `HOSTSTORE_SPEC_<n>`: how the constructs write one
 * and how a synth output's reader reads it back. Pure, shared by src/ and provider/.
 */
import { createHash } from 'node:crypto';

const escapeTemplate = (value: string) => value.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
const unescapeTemplate = (value: string) => value.replace(/\$\$\{/g, () => '${').replace(/%%\{/g, () => '%{');

/** Prefix of the manifest's per-thing variables; `<n>` counts from 1. */
export const SPEC_VAR_PREFIX = 'HOSTSTORE_SPEC_';

/**
 * The retirement's destroy-time provisioner: the root and project (`{"root":…,"project":…}`) the code names
 * now, a literal of the current config. Another than its old `self`'s means the project moved or was
 * renamed (../provider/commands/retire-project.ts).
 */
export const PROJECT_NOW_ENV = 'HOSTSTORE_PROJECT_NOW';
export const SPEC_VAR_PATTERN = /^HOSTSTORE_SPEC_([1-9][0-9]*)$/;

/** The kinds a manifest converges (the project itself is the manifest). */
export const THING_KINDS = ['storage', 'mount', 'snapshot-policy'] as const;
export type ThingKind = (typeof THING_KINDS)[number];

/** A Terraform reference to a carrier attribute holding a full spec: `terraform_data.<id>.input`, `null_resource.<id>.triggers`. */
export interface SpecRef {
  readonly type: 'terraform_data' | 'null_resource';
  readonly id: string;
  readonly attribute: 'input' | 'triggers';
}

export function refExpression(ref: SpecRef): string {
  return `${ref.type}.${ref.id}.${ref.attribute}`;
}

/**
 * `{"address":"<construct path>","kind":"<kind>","spec":{...}}`, the spec written out at synth (a reference
 * to the carrier's input cost Terraform an evaluation per thing at every plan), template-escaped, so no
 * value of the user's is ever read as an expression.
 */
export function specEntryLiteral(address: string, kind: ThingKind, spec: Record<string, string>): string {
  return escapeTemplate(JSON.stringify({ address, kind, spec }));
}

/**
 * The manifest's `specs` trigger: a digest of every thing's spec in entry order, so a change anywhere
 * replaces the manifest (and its converge runs).
 */
export function specsDigest(specs: ReadonlyArray<Record<string, string>>): string {
  return createHash('sha256').update(JSON.stringify(specs)).digest('hex');
}

/** An entry `specEntryLiteral` wrote, as a synth output holds it; undefined when it is not one. */
export function parseSpecEntryLiteral(
  text: string,
): { readonly address: string; readonly kind: ThingKind; readonly spec: Record<string, string> } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(unescapeTemplate(text));
  } catch {
    return undefined;
  }
  const { address, kind, spec } = (value ?? {}) as Record<string, unknown>;
  if (typeof address !== 'string' || !(THING_KINDS as readonly unknown[]).includes(kind)) return undefined;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return undefined;
  if (!Object.values(spec).every((v) => typeof v === 'string')) return undefined;
  return { address, kind: kind as ThingKind, spec: spec as Record<string, string> };
}

/**
 * Earlier builds' form (still read, for `hoststore diff --base` of an older synth output):
 * `{"address":"<construct path>","kind":"<kind>","spec":${jsonencode(<ref>)}}`: Terraform fills in the spec
 * when it runs the provisioner; the literal parts are JSON, then template-escaped, so no value of the user's
 * is ever read as an expression.
 */
export function specEntryTemplate(address: string, kind: ThingKind, ref: SpecRef): string {
  const literal = escapeTemplate(`{"address":${JSON.stringify(address)},"kind":${JSON.stringify(kind)},"spec":`);
  return `${literal}\${jsonencode(${refExpression(ref)})}}`;
}

const SUFFIX = /\$\{jsonencode\((terraform_data|null_resource)\.([A-Za-z0-9_-]+)\.(input|triggers)\)\}\}$/;

/** The parts of an entry `specEntryTemplate` wrote, as a synth output holds it; undefined when it is not one. */
export function parseSpecEntryTemplate(
  text: string,
): { readonly address: string; readonly kind: ThingKind; readonly ref: SpecRef } | undefined {
  const match = SUFFIX.exec(text);
  if (!match) return undefined;
  let literal: unknown;
  try {
    literal = JSON.parse(`${unescapeTemplate(text.slice(0, match.index))}null}`);
  } catch {
    return undefined;
  }
  const { address, kind, spec } = (literal ?? {}) as Record<string, unknown>;
  if (typeof address !== 'string' || !(THING_KINDS as readonly unknown[]).includes(kind) || spec !== null)
    return undefined;
  return {
    address,
    kind: kind as ThingKind,
    ref: { type: match[1] as SpecRef['type'], id: match[2], attribute: match[3] as SpecRef['attribute'] },
  };
}
