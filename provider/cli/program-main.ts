/** Every other `hoststore` command line: the parser and the commands, each loaded when run (see ../cli.ts). */
import { run } from './program.js';
import { exitCodeOf } from './report-error.js';

export function main(argv: string[]): Promise<number> {
  return exitCodeOf(argv, () => run(argv));
}
