/** `restic check`: the repository's own integrity check (with `--read-data`, every pack is read and hashed). */
import type { HandlerContext } from '../handlers/handler.js';
import { restic, type ResticRepository } from './restic.js';

export interface VerifyResult {
  readonly repository: string;
  readonly url: string;
  readonly readData: boolean;
  /** restic check's own report, line by line (no secrets: restic prints none). */
  readonly report: readonly string[];
}

/** Runs `restic check [--read-data]`; a damaged repository is a BackupError carrying restic's finding. */
export async function verifyRepository(
  ctx: HandlerContext,
  repository: ResticRepository,
  options: { readonly readData?: boolean } = {},
): Promise<VerifyResult> {
  const { stdout } = await restic(ctx.root, repository, ['check', ...(options.readData ? ['--read-data'] : [])]);
  return {
    repository: repository.name,
    url: repository.url,
    readData: options.readData ?? false,
    report: stdout
      .split('\n')
      .map((l) => l.trimEnd())
      .filter(Boolean),
  };
}
