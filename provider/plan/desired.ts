/**
 * The desired state, read from a synth output (cdktf.out): each project's manifest (the carrier whose
 * create-time provisioner runs `handle project converge`) and every thing it converges, from its
 * `HOSTSTORE_SPEC_<n>` entries (the one source of truth Terraform itself hands the converge). Outputs of
 * earlier builds are still read (`hoststore diff --base` of an old synth output): entries that refer to a
 * carrier's `input` (resolved against the same JSON), and config carriers that each ran `handle <kind> converge`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SpecError, UsageError } from '../errors.js';
import { naturalCompare } from '../natural-order.js';
import { checkSynthFileOwn, readSynthJson } from './synth-file.js';
import { handlerCommand, KIND_NAMES, type KindName } from '../../src/kinds.js';
import {
  SPEC_VAR_PATTERN,
  parseSpecEntryLiteral,
  parseSpecEntryTemplate,
  refExpression,
} from '../../src/manifest-specs.js';
import { HOST_ENV, holdsKeyMaterial, hostConnectionProblems, type HostConnection } from '../../src/host-connection.js';

export type SpecKind = KindName;

export interface DesiredSpec {
  readonly stack: string;
  /** Construct path of the carrier's owner (`web-app/webapp/sqlite`). */
  readonly address: string;
  readonly kind: SpecKind;
  /** The carrier's triggers as Terraform would hand them to the handler (template escapes undone). */
  readonly spec: Record<string, string>;
  /**
   * The host a remote project's thing is on: its manifest's HOSTSTORE_HOST, checked, defaults filled.
   * Absent for a local project (this machine). Its `address` is the spec's `host`.
   */
  readonly host?: HostConnection;
}

/** Each kind's converge command, as the renderer writes it (a 0.1 config carrier's create-time provisioner; the manifest's is `project`). */
const CONVERGE = new Map<string, SpecKind>(KIND_NAMES.map((kind) => [handlerCommand(kind, 'converge'), kind]));
const ORDER = new Map<SpecKind, number>(KIND_NAMES.map((kind, i) => [kind, i]));

interface Carrier {
  readonly triggers_replace?: Record<string, string>;
  readonly triggers?: Record<string, string>;
  readonly input?: Record<string, string> | string;
  readonly provisioner?: Array<{
    'local-exec'?: { command?: string; when?: string; environment?: Record<string, string> };
  }>;
  readonly '//'?: { metadata?: { path?: string } };
}

function unescapeTemplate(value: string): string {
  // Most values hold no template escape; skip the two regex passes for them (a plan reads thousands).
  if (!value.includes('$${') && !value.includes('%%{')) return value;
  return value.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');
}

function unescapeAll(triggers: Record<string, unknown>): Record<string, string> {
  const spec: Record<string, string> = {};
  for (const key of Object.keys(triggers)) spec[key] = unescapeTemplate(String(triggers[key]));
  return spec;
}

/**
 * The connection a converge provisioner's HOSTSTORE_HOST holds (undefined when it has none: a local
 * project), checked with the rules the constructs apply; one line naming the resource when it breaks one.
 */
function hostOf(env: Record<string, string>, where: string): HostConnection | undefined {
  if (!(HOST_ENV in env)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(unescapeTemplate(String(env[HOST_ENV])));
  } catch {
    throw new SpecError(
      `${HOST_ENV} of ${where} is not JSON (got ${holdsKeyMaterial(env[HOST_ENV]) ? 'key material, not shown' : JSON.stringify(String(env[HOST_ENV]).slice(0, 120))}); run cdktf synth again`,
    );
  }
  const problems = hostConnectionProblems(value);
  if (problems.length > 0)
    throw new SpecError(
      `${HOST_ENV} of ${where} is not a host connection: ${problems.join('; ')}; fix the StorageProject's \`host\` and run cdktf synth again`,
    );
  return value as HostConnection;
}

/** A spec must be on the host its manifest's HOSTSTORE_HOST names (both absent for a local project). */
function checkSameHost(spec: DesiredSpec, host: HostConnection | undefined, manifest: string): void {
  if (spec.spec.host === host?.address) return;
  const said = (address: string | undefined) => (address === undefined ? 'no host (this machine)' : `host ${address}`);
  throw new SpecError(
    `${spec.address} (${spec.kind}) in stack ${spec.stack} says ${said(spec.spec.host)} but the manifest of ${manifest} runs on ${said(host?.address)}; run cdktf synth again`,
  );
}

/** Storage first, then mounts, policies and manifests; by address within a kind. */
export function sortDesired(specs: DesiredSpec[]): DesiredSpec[] {
  return specs.sort((a, b) => ORDER.get(a.kind)! - ORDER.get(b.kind)! || byAddress(a, b));
}

type Resources = Record<string, Record<string, Carrier>>;

/**
 * The things a manifest's provisioner converges, in its `HOSTSTORE_SPEC_<n>` order: each spec as the entry
 * writes it out, or (an earlier build's entry) read from the attribute it names in the same stack.
 */
function manifestThings(stack: string, manifest: string, env: Record<string, string>, resources: Resources) {
  const vars = Object.keys(env)
    .map((name) => ({ name, n: SPEC_VAR_PATTERN.exec(name)?.[1] }))
    .filter((v): v is { name: string; n: string } => v.n !== undefined)
    .sort((a, b) => Number(a.n) - Number(b.n));
  return vars.map(({ name }): DesiredSpec => {
    const text = String(env[name]);
    const literal = parseSpecEntryLiteral(text);
    if (literal) return { stack, address: literal.address, kind: literal.kind, spec: literal.spec };
    const entry = parseSpecEntryTemplate(text);
    const where = `${name} of ${manifest} in stack ${stack}`;
    if (!entry)
      throw new SpecError(
        `${where} is not an entry hoststore renders ({"address":...,"kind":...,"spec":{...}}); run cdktf synth again`,
      );
    const value = resources[entry.ref.type]?.[entry.ref.id]?.[entry.ref.attribute];
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new SpecError(
        `${where} refers to ${refExpression(entry.ref)}, which the stack does not hold as a spec; run cdktf synth again`,
      );
    return { stack, address: entry.address, kind: entry.kind, spec: unescapeAll(value) };
  });
}

/** The lists a manifest declares (its triggers, split), against which its HOSTSTORE_SPEC_<n> things are checked. */
export interface ManifestLists {
  readonly storage: readonly string[];
  readonly mounts: readonly string[];
  readonly policies: readonly string[];
}

/**
 * The first list of a manifest that its things' specs do not match (a removed entry cannot pass for a
 * thing removed from code, nor an unlisted one for a declared thing), or undefined when all match.
 */
export function manifestListMismatch(
  manifest: ManifestLists,
  things: readonly DesiredSpec[],
): { field: keyof ManifestLists; declared: string; fromSpecs: string } | undefined {
  const listed = (kind: SpecKind, entry: (s: Record<string, string>) => string) =>
    things
      .filter((t) => t.kind === kind)
      .map((t) => entry(t.spec))
      .sort();
  const lists: Array<[keyof ManifestLists, string[]]> = [
    ['storage', listed('storage', (s) => `${s.kind}:${s.name}`)],
    ['mounts', listed('mount', (s) => `${s.service}/${s.replica}:${s.mount_path}`)],
    ['policies', listed('snapshot-policy', (s) => `${s.policy}:${s.storage}`)],
  ];
  for (const [field, fromSpecs] of lists) {
    const declared = [...manifest[field]].sort();
    if (declared.join(',') !== fromSpecs.join(','))
      return { field, declared: declared.join(','), fromSpecs: fromSpecs.join(',') };
  }
  return undefined;
}

const splitList = (v: unknown): string[] => (typeof v === 'string' && v !== '' ? v.split(',') : []);

/** Code-point order (not locale order): stable across machines and much cheaper for thousands of addresses. */
function byAddress(a: DesiredSpec, b: DesiredSpec): number {
  return naturalCompare(a.address, b.address);
}

/** Every hoststore spec in the synth output, storage first, then mounts, policies and manifests. */
export function readDesired(appDir: string, onlyStack?: string): DesiredSpec[] {
  const manifestFile = path.join(appDir, 'manifest.json');
  if (!fs.existsSync(manifestFile)) {
    throw new UsageError(`${appDir} is not a synth output (no manifest.json); run \`cdktf synth\` first or pass --app`);
  }
  const manifest = readSynthJson(appDir, 'manifest.json', 'the synth manifest') as {
    stacks: Record<string, { name: string; synthesizedStackPath: string }>;
  };
  if (typeof manifest?.stacks !== 'object' || manifest.stacks === null)
    throw new UsageError(
      `${manifestFile} has no "stacks": it is not a cdktf synth manifest; run cdktf synth again, or pass the right --app`,
    );
  const stacks = Object.values(manifest.stacks).filter((s) => !onlyStack || s.name === onlyStack);
  if (onlyStack && stacks.length === 0)
    throw new UsageError(
      `no stack named '${onlyStack}' in ${appDir} (stacks: ${Object.keys(manifest.stacks).join(', ')})`,
    );
  const specs: DesiredSpec[] = [];
  for (const stack of stacks) {
    let checkedOwn = false;
    const config = readSynthJson(appDir, stack.synthesizedStackPath, `stack ${stack.name}'s configuration`) as {
      resource?: Resources;
    };
    const resources = config.resource ?? {};
    for (const type of ['terraform_data', 'null_resource']) {
      for (const [logicalId, carrier] of Object.entries(resources[type] ?? {})) {
        for (const p of carrier.provisioner ?? []) {
          const kind = CONVERGE.get(p['local-exec']?.command ?? '');
          if (!kind || p['local-exec']?.when === 'destroy') continue;
          const triggers = { ...(carrier.triggers_replace ?? carrier.triggers ?? {}) };
          const ownerPath = (carrier['//']?.metadata?.path ?? logicalId).replace(/\/(config|manifest)(-\d+)?$/, '');
          const environment = p['local-exec']?.environment ?? {};
          const host = hostOf(environment, `${ownerPath} in stack ${stack.name}`);
          if (host && !checkedOwn) {
            // Hosts to connect to come from these two files: only the caller (or root) may have written them.
            checkSynthFileOwn(appDir, 'manifest.json', 'the synth manifest');
            checkSynthFileOwn(appDir, stack.synthesizedStackPath, `stack ${stack.name}'s configuration`);
            checkedOwn = true;
          }
          if (kind === 'project') {
            // The digest is an expression Terraform evaluates; the specs it covers are read below. Without
            // one (an earlier build's manifest) the manifest carries no entries to check.
            const digest = 'specs' in triggers;
            delete triggers.specs;
            const things = manifestThings(stack.name, ownerPath, environment, resources).map((thing) => {
              checkSameHost(thing, host, ownerPath);
              return host ? { ...thing, host } : thing;
            });
            // As the manifest's converge checks it: what it converges is what it lists.
            const lists = unescapeAll(triggers);
            const mismatch = digest
              ? manifestListMismatch(
                  {
                    storage: splitList(lists.storage),
                    mounts: splitList(lists.mounts),
                    policies: splitList(lists.policies),
                  },
                  things,
                )
              : undefined;
            if (mismatch)
              throw new SpecError(
                `the manifest of ${ownerPath} in stack ${stack.name} lists ${mismatch.field} ${JSON.stringify(mismatch.declared)} but its HOSTSTORE_SPEC_<n> entries hold ${JSON.stringify(mismatch.fromSpecs)}; run cdktf synth again`,
              );
            specs.push(...things);
          }
          const own: DesiredSpec = { stack: stack.name, address: ownerPath, kind, spec: unescapeAll(triggers) };
          checkSameHost(own, host, ownerPath);
          specs.push(host ? { ...own, host } : own);
        }
      }
    }
  }
  return sortDesired(specs);
}
