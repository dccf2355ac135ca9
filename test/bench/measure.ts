/** Timing helpers for the benchmarks: medians of repeated runs, ratios against a baseline of the same run. */
import { performance } from 'node:perf_hooks';
import { execFileSync } from 'node:child_process';

export async function timeIt(fn: () => unknown | Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

export async function median(runs: number, fn: () => unknown | Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) times.push(await timeIt(fn));
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export interface BenchResult {
  readonly name: string;
  readonly measured: string;
  readonly baseline: string;
  readonly ratio: number;
  readonly target: string;
  readonly pass: boolean;
}

export function result(
  name: string,
  measured: number,
  baseline: number,
  unit: string,
  target: { max?: number; min?: number },
): BenchResult {
  const ratio = measured / baseline;
  const pass = (target.max === undefined || ratio <= target.max) && (target.min === undefined || ratio >= target.min);
  return {
    name,
    measured: `${measured.toFixed(1)} ${unit}`,
    baseline: `${baseline.toFixed(1)} ${unit}`,
    ratio: Number(ratio.toFixed(2)),
    target: target.max !== undefined ? `<= ${target.max}x` : `>= ${target.min}x`,
    pass,
  };
}

export interface PairedTimes {
  readonly measured: number;
  readonly baseline: number;
  /** Every round, for the report: `measured/baseline ms`. */
  readonly rounds: string;
}

/**
 * Runs the measured job and its baseline alternately for `rounds` rounds and returns the medians, so
 * neither always runs first, on a cold cache or right after the other's cleanup. Before each run the
 * page cache is written back (`sync`), so one run's deleted images are not flushed on the next's time.
 */
export async function paired(
  rounds: number,
  measured: () => Promise<number>,
  baseline: () => Promise<number>,
): Promise<PairedTimes> {
  const m: number[] = [];
  const b: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    execFileSync('sync');
    b.push(await baseline());
    execFileSync('sync');
    m.push(await measured());
  }
  const mid = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  return {
    measured: mid(m),
    baseline: mid(b),
    rounds: m.map((t, i) => `${t.toFixed(0)}/${b[i].toFixed(0)}`).join(' '),
  };
}
