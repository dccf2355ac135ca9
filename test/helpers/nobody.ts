/**
 * Running this build as an ordinary user (nobody), for the tests of deploys that need no root. A fresh clone
 * may sit where only root can enter (`mktemp -d` makes its directory 0700, as CI's clone is made): then what a
 * deploy reads of it (package.json, dist, node_modules) is linked (cp -al: hard links, no data copied) into a
 * place nobody can reach, for as long as the test holds it.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const NOBODY = { uid: 65534, gid: 65534 } as const;

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI_IN_REPO = 'dist/provider/cli.js';

/** The repository as nobody reaches it, and its built CLI there. */
export interface NobodyRepo {
  readonly repo: string;
  readonly cli: string;
  /** Removes the links made (nothing when the repository was reachable as it is). */
  release(): void;
}

/** `command args` as nobody (no groups), with only the environment given. */
export function runAsNobody(
  command: string,
  args: readonly string[],
  options: { readonly cwd?: string; readonly env: NodeJS.ProcessEnv; readonly timeout?: number },
): SpawnSyncReturns<string> {
  return spawnSync(
    'setpriv',
    [`--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, '--clear-groups', '--', command, ...args],
    { cwd: options.cwd, env: options.env, encoding: 'utf8', timeout: options.timeout ?? 300_000 },
  );
}

/** What a deploy reads of the repository, at a path nobody can read: itself when it already is, else links to it. */
export function repoForNobody(): NobodyRepo {
  const readable = (repo: string) =>
    runAsNobody('test', ['-r', path.join(repo, CLI_IN_REPO)], { env: { PATH: process.env.PATH } }).status === 0;
  if (readable(REPO)) return { repo: REPO, cli: path.join(REPO, CLI_IN_REPO), release: () => undefined };
  const place = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-repo-for-nobody-'));
  fs.chmodSync(place, 0o755);
  const release = () => fs.rmSync(place, { recursive: true, force: true });
  const repo = path.join(place, 'repo');
  fs.mkdirSync(repo, { mode: 0o755 });
  for (const part of ['package.json', 'dist', 'node_modules']) {
    // Hard links where the two are on one filesystem (the files' own modes let nobody read them), else copies.
    const from = path.join(REPO, part);
    if (spawnSync('cp', ['-al', from, repo]).status !== 0 && spawnSync('cp', ['-a', from, repo]).status !== 0) {
      release();
      throw new Error(`cannot link or copy ${from} for nobody into ${repo}`);
    }
  }
  if (!readable(repo)) {
    release();
    throw new Error(`nobody cannot read ${path.join(repo, CLI_IN_REPO)} even in a copy of ${REPO}`);
  }
  return { repo, cli: path.join(repo, CLI_IN_REPO), release };
}
