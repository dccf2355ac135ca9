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

export class Problems {
  private readonly messages: string[] = [];

  /** Records `` `prop` <rule> (got <value>) `` when `rule` finds a problem. */
  check(prop: string, value: unknown, rule: Rule): boolean {
    const problem = rule(value);
    if (problem) this.messages.push(`\`${prop}\` ${problem} (got ${show(value)})`);
    return problem === undefined;
  }

  add(message: string): void {
    this.messages.push(message);
  }

  /**
   * Defence in depth: parses a rendered spec with the schema the handler will apply, so a spec it would
   * refuse stops synth here instead of leaving a resource out or failing at apply on the host.
   */
  checkSpec(schema: ZodTypeAny, spec: object): boolean {
    const result = schema.safeParse(spec);
    if (result.success) return true;
    const message = `renders a spec the handler would refuse: ${describeZodError(result.error, spec)}`;
    if (!this.messages.includes(message)) this.messages.push(message); // once, not once per replica
    return false;
  }

  get list(): string[] {
    return [...this.messages];
  }

  get ok(): boolean {
    return this.messages.length === 0;
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
