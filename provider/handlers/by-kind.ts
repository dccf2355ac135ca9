/**
 * Each kind of the contract table (src/kinds.ts) bound to its handler, loaded on demand: `hoststore
 * handle` runs once per resource and loads only the handler it needs.
 */
import type { KindName } from '../../src/kinds.js';
import type { Handler } from './handler.js';

/** A handler of some kind: each parses its own spec, so callers hand it wire input, not typed specs. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- existential: the kind, not the caller, knows the types
export type AnyHandler = Handler<any, any, any>;

const LOADERS: { readonly [K in KindName]: () => Promise<AnyHandler> } = {
  storage: async () => (await import('./storage.js')).storageHandler,
  mount: async () => (await import('./mount.js')).mountHandler,
  'snapshot-policy': async () => (await import('./snapshot-policy.js')).snapshotPolicyHandler,
  project: async () => (await import('./project.js')).projectHandler,
};

export function loadHandler(kind: KindName): Promise<AnyHandler> {
  return LOADERS[kind]();
}
