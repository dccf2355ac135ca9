/**
 * Whether output is coloured, decided once per stream: never with --no-color or NO_COLOR (no-color.org),
 * always with FORCE_COLOR (not 0), else only on a terminal that is not TERM=dumb, so pipes and CI logs stay plain.
 */
import pc from 'picocolors';

let disabledByFlag = false;

/** `--no-color` on the command line. */
export function disableColour(): void {
  disabledByFlag = true;
}

export function colourEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  const env = process.env;
  if (disabledByFlag || (env.NO_COLOR !== undefined && env.NO_COLOR !== '')) return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

export type Colours = ReturnType<typeof pc.createColors>;

/** Colour functions for `stream`: identity functions when it is not to be coloured. */
export function colours(stream: NodeJS.WriteStream = process.stdout): Colours {
  return pc.createColors(colourEnabled(stream));
}
