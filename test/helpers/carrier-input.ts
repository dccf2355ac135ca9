/**
 * A `terraform_data` carrier's `input` as the constructs render it (the full spec as one JSON string), read
 * back as the spec object the tests compare.
 */
export function inputOf(carrier: { input?: unknown } | undefined): Record<string, string> {
  const input = carrier?.input;
  if (typeof input !== 'string') throw new Error(`a carrier's input is not a JSON string: ${JSON.stringify(input)}`);
  return JSON.parse(input) as Record<string, string>;
}
