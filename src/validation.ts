/**
 * Collects a construct's broken rules as messages that name the property, the rule and the value, so
 * synth reports all of them at once (cdktf prefixes each with the construct path).
 */
export type Rule = (value: unknown) => string | undefined;

export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
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
