/**
 * What `--repository R` names: a BackupRepository recorded on this host (`offsite`, or `project/offsite`
 * when two projects have one), or a restic URL given with `--password-file` (and `--environment-file`).
 */
import { absolutePathRule, nameRule } from '../../src/schema.js';
import { redactRepositoryUrl, repositoryUrlRule } from '../../src/backup-spec.js';
import { UsageError } from '../errors.js';
import type { HandlerContext } from '../handlers/handler.js';
import { REPOSITORIES, repositoryKey, type RepositoryRecord } from './records.js';
import type { ResticRepository } from './restic.js';

export interface RepositoryFlags {
  readonly repository?: string;
  readonly passwordFile?: string;
  readonly environmentFile?: string;
}

/** A repository named by the command line, with the project of its record when it has one. */
export type ResolvedRepository = ResticRepository & { readonly project?: string; readonly recorded: boolean };

function recorded(ctx: HandlerContext): RepositoryRecord[] {
  return ctx.registry.list<RepositoryRecord>(REPOSITORIES).map((e) => e.record);
}

const looksLikeUrl = (value: string) => value.startsWith('/') || value.includes(':');

/**
 * The repository the flags name; without `--repository`, the only one recorded (when `among` narrows the
 * candidates, the only one among those). One line naming what is known when it cannot tell.
 */
export function resolveRepository(
  ctx: HandlerContext,
  flags: RepositoryFlags,
  among?: (r: RepositoryRecord) => boolean,
): ResolvedRepository {
  const given = flags.repository;
  if (given !== undefined && looksLikeUrl(given)) {
    const problem = repositoryUrlRule(given);
    if (problem)
      throw new UsageError(`--repository ${JSON.stringify(redactRepositoryUrl(given))}: a repository URL ${problem}`);
    if (!flags.passwordFile)
      throw new UsageError(
        `--repository ${given} is a URL, so it needs --password-file FILE (the repository's password, in a root-owned file of mode 0600)`,
      );
    for (const [flag, file] of [
      ['--password-file', flags.passwordFile],
      ['--environment-file', flags.environmentFile],
    ] as const) {
      const fileProblem = file === undefined ? undefined : absolutePathRule(file);
      if (fileProblem) throw new UsageError(`${flag} ${JSON.stringify(file)}: it ${fileProblem}`);
    }
    return {
      name: 'command-line',
      url: given,
      passwordFile: flags.passwordFile,
      ...(flags.environmentFile ? { environmentFile: flags.environmentFile } : {}),
      recorded: false,
    };
  }
  if (flags.passwordFile !== undefined || flags.environmentFile !== undefined)
    throw new UsageError(
      '--password-file and --environment-file go with --repository URL; a recorded repository has its own files',
    );
  const all = recorded(ctx);
  const names = all.map((r) => `${r.project}/${r.name}`).join(', ') || 'none';
  if (given === undefined) {
    const candidates = among ? all.filter(among) : all;
    if (candidates.length === 1) return { ...candidates[0], recorded: true };
    throw new UsageError(
      candidates.length === 0
        ? `no backup repository is recorded on ${ctx.root} (a SnapshotPolicy with replicateTo records its repository when deployed); give --repository NAME or --repository URL --password-file FILE`
        : `several backup repositories could be meant (${candidates.map((r) => `${r.project}/${r.name}`).join(', ')}); pick one with --repository`,
    );
  }
  const [project, name] = given.includes('/') ? given.split('/', 2) : [undefined, given];
  const nameProblem = nameRule(name) ?? (project === undefined ? undefined : nameRule(project));
  if (nameProblem)
    throw new UsageError(
      `--repository ${JSON.stringify(given)} is neither a repository name (NAME or PROJECT/NAME: it ${nameProblem}) nor a restic URL`,
    );
  if (project !== undefined) {
    const record = ctx.registry.get<RepositoryRecord>(REPOSITORIES, repositoryKey(project, name));
    if (!record) throw new UsageError(`no backup repository ${given} is recorded on ${ctx.root} (recorded: ${names})`);
    return { ...record, recorded: true };
  }
  const matches = all.filter((r) => r.name === name);
  if (matches.length === 1) return { ...matches[0], recorded: true };
  throw new UsageError(
    matches.length === 0
      ? `no backup repository named ${name} is recorded on ${ctx.root} (recorded: ${names}); give a recorded name, or a URL with --password-file`
      : `${matches.length} projects have a backup repository named ${name} (${matches.map((r) => `${r.project}/${r.name}`).join(', ')}); write PROJECT/${name}`,
  );
}
