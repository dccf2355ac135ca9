/** What the engine commands (plan, apply, diff, destroy) read from their options. */
import type { EngineOptions } from '../commands/plan.js';
import { parallelismOf } from '../remote/fleet.js';

export interface EngineFlags {
  readonly app: string;
  readonly stack?: string;
  readonly format?: string;
  readonly detailedExitcode?: boolean;
  readonly out?: string;
  readonly autoApprove?: boolean;
  readonly allowDataLoss?: string[];
  readonly base?: string;
  readonly host?: string[];
  readonly parallelism?: string;
}

export function engineOptions(flags: EngineFlags): EngineOptions {
  return {
    app: flags.app,
    stack: flags.stack,
    format: flags.format ?? 'text',
    detailedExitcode: flags.detailedExitcode ?? false,
    out: flags.out,
    autoApprove: flags.autoApprove ?? false,
    allowDataLoss: flags.allowDataLoss ?? [],
    base: flags.base,
    hosts: flags.host ?? [],
    parallelism: parallelismOf(flags.parallelism),
  };
}
