/**
 * Collects a construct's broken rules as messages that name the property, the rule and the value, so
 * synth reports all of them at once (cdktf prefixes each with the construct path).
 */
import type { ZodTypeAny } from 'zod';
import { describeZodError } from './schema.js';

export type Rule = (value: unknown) => string | undefined;

export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  if (Object.is(value, -0)) return '-0';
  if (typeof value === 'object' && value !== null) return '[object]';
  return String(value);
}

/** True for a value that is a token (a Terraform expression resolved only at deploy): the framework's `Token.isUnresolved`. */
export type IsToken = (value: unknown) => boolean;

type Entry = string | (() => string | undefined);

export class Problems {
  private readonly entries: Entry[] = [];

  constructor(private readonly isToken: IsToken = () => false) {}

  /** Records `` `prop` <rule> (got <value>) `` when `rule` finds a problem. */
  check(prop: string, value: unknown, rule: Rule): boolean {
    const problem = this.problem(prop, value, rule);
    if (problem) this.entries.push(problem);
    return problem === undefined;
  }

  /**
   * Like `check`, for a prop that may change until synth (a user's Aspect may set it): `read` is called
   * each time the problems are listed, so the rule judges the value synth renders.
   */
  watch(prop: string, read: () => unknown, rule: Rule): void {
    this.entries.push(() => this.problem(prop, read(), rule));
  }

  add(message: string): void {
    this.entries.push(message);
  }

  private problem(prop: string, value: unknown, rule: Rule): string | undefined {
    // Limits are enforced at synth: a value known only at deploy cannot be checked, so it is refused.
    if (this.isToken(value))
      return `\`${prop}\` must be a literal ${typeof value === 'string' ? 'string' : typeof value === 'number' ? 'number' : 'value'} at synth (got a token)`;
    const problem = rule(value);
    return problem && `\`${prop}\` ${problem} (got ${show(value)})`;
  }

  get list(): string[] {
    return this.entries.map((e) => (typeof e === 'string' ? e : e())).filter((m): m is string => m !== undefined);
  }

  get ok(): boolean {
    return this.list.length === 0;
  }
}

/**
 * Defence in depth: parses a rendered spec with the schema the handler will apply, so a spec it would
 * refuse stops synth here instead of failing at apply on the host.
 */
export function specProblem(schema: ZodTypeAny, spec: object): string | undefined {
  const result = schema.safeParse(spec);
  return result.success
    ? undefined
    : `renders a spec the handler would refuse: ${describeZodError(result.error, spec)}`;
}

/**
 * `compute`, remembered while every value `inputs` lists is the same (Object.is): each carrier's lazy value
 * checks its construct again, which is thousands of checks in a large project.
 */
export function remembered(inputs: () => readonly unknown[], compute: () => string[]): () => string[] {
  let last: { inputs: readonly unknown[]; problems: string[] } | undefined;
  return () => {
    const now = inputs();
    if (last && now.length === last.inputs.length && now.every((v, i) => Object.is(v, last?.inputs[i])))
      return [...last.problems];
    last = { inputs: now, problems: compute() };
    return [...last.problems];
  };
}

/** Throws the construct's problems as one line (what a carrier's lazy value does for an invalid construct). */
export function assertValid(
  construct: { node: { path: string; validate(): string[] } },
  ...others: Array<{ node: { path: string; validate(): string[] } }>
): void {
  for (const c of [construct, ...others]) {
    const problems = c.node.validate();
    if (problems.length > 0) throw new Error(`[${c.node.path}] cannot be rendered: ${problems.join('; ')}`);
  }
}

/** Escapes Terraform's template sequences so a literal `${` or `%{` in a value stays literal. */
export function escapeTemplate(value: string): string {
  // Replacer functions: in a replacement string '$$' would itself collapse to one '$'.
  return value.replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
}

export function escapeAll<T extends Record<string, string>>(values: T): T {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, escapeTemplate(v)])) as T;
}
