/**
 * The roots a read command looks at when run inside a cdktf app (a directory with cdktf.json) without
 * --root or HOSTSTORE_ROOT: those its synth output declares, read as `hoststore plan` reads it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { rootRule } from '../../src/schema.js';
import { SpecError } from '../errors.js';
import { readDesired } from '../plan/desired.js';
import type { HostConnection } from '../../src/host-connection.js';
import { groupByHost, hostOf } from '../remote/fleet.js';

/** The app's declared roots, sorted; undefined when `cwd` is not a cdktf app. */
export function appRoots(cwd: string, app?: string): string[] | undefined {
  const hosts = appHosts(cwd, app);
  return hosts && [...new Set(hosts.flatMap((h) => h.roots))].sort();
}

/** The roots of one host an app declares (`connection` absent: this machine). */
export interface HostRoots {
  /** `local`, or the host's address. */
  readonly name: string;
  readonly connection?: HostConnection;
  readonly roots: readonly string[];
}

/** The app's hosts (this machine first) with the roots each holds, sorted; undefined when `cwd` is not a cdktf app. */
export function appHosts(cwd: string, app?: string): HostRoots[] | undefined {
  const config = path.join(cwd, 'cdktf.json');
  if (!fs.existsSync(config)) return undefined;
  const out = path.resolve(cwd, app ?? synthOutputOf(config));
  if (!fs.existsSync(path.join(out, 'manifest.json'))) {
    throw new SpecError(
      `${cwd} is a cdktf app (cdktf.json) but ${out} holds no synth output, so its roots are unknown; run cdktf synth first, or pass --root DIR`,
    );
  }
  return synthOutputHosts(out);
}

/** The hosts and roots a synth output `out` declares (each root held to the --root rule), sorted. */
export function synthOutputHosts(out: string): HostRoots[] {
  const groups = groupByHost(readDesired(out), hostOf).map((group) => ({
    name: group.name,
    connection: group.connection,
    roots: [...new Set(group.items.map((d) => d.spec.root).filter((r): r is string => typeof r === 'string'))].sort(),
  }));
  const roots = groups.flatMap((g) => g.roots);
  if (roots.length === 0)
    throw new SpecError(
      `the synth output ${out} declares no hoststore storage, so there is no root to read; pass --root DIR`,
    );
  for (const root of roots) {
    // A synth output may have been written by anyone: its roots obey the rule a --root does.
    const problem = rootRule(root);
    if (problem)
      throw new SpecError(
        `the synth output ${out} declares the root ${JSON.stringify(root)}, which is not a usable hoststore root: it ${problem}; synth again, or pass --root DIR`,
      );
  }
  return groups.filter((g) => g.roots.length > 0);
}

/** The synth output of the cdktf app in `cwd` (cdktf.json's `output`), or undefined when `cwd` is not one. */
export function appSynthOutput(cwd: string): string | undefined {
  const config = path.join(cwd, 'cdktf.json');
  return fs.existsSync(config) ? path.resolve(cwd, synthOutputOf(config)) : undefined;
}

/** cdktf.json's `output` (where `cdktf synth` writes), `cdktf.out` by default. */
function synthOutputOf(config: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(config, 'utf8'));
  } catch {
    throw new SpecError(
      `${config} is not valid JSON, so the app's synth output cannot be found; fix it, or pass --root DIR`,
    );
  }
  const output = (parsed as { output?: unknown } | null)?.output;
  return typeof output === 'string' && output !== '' ? output : 'cdktf.out';
}

export { rootsOf } from './read-data.js';

export { perRootText } from './per-root-text.js';
