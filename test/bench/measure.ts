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
  /** No target: the figures are reported for what they show. */
  readonly informational?: boolean;
}

export function result(
  name: string,
  measured: number,
  baseline: number,
  unit: string,
  target: { max?: number; min?: number },
): BenchResult {
  const ratio = measured / baseline;
  if (target.max === undefined && target.min === undefined) {
    return {
      name,
      measured: `${measured.toFixed(1)} ${unit}`,
      baseline: `${baseline.toFixed(1)} ${unit}`,
      ratio: Number(ratio.toFixed(2)),
      target: 'none, informational',
      pass: true,
      informational: true,
    };
  }
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

export interface Job {
  readonly name: string;
  /** Runs the job once and returns the milliseconds it measured (set-up and cleanup are its own, untimed). */
  readonly run: () => Promise<number>;
  /** Fewer rounds than the others (a long job): it drops out after this many. */
  readonly rounds?: number;
}

export interface JobTimes {
  readonly name: string;
  readonly median: number;
  /** Every round's time, in the order run. */
  readonly times: readonly number[];
}

/**
 * `paired` for any number of jobs: each round runs every job once, after `sync`, the order rotating from
 * round to round so no job always runs first or right after the same other; returns each job's median.
 */
export async function interleaved(rounds: number, jobs: readonly Job[]): Promise<JobTimes[]> {
  const times = jobs.map(() => [] as number[]);
  for (let round = 0; round < rounds; round += 1) {
    for (let k = 0; k < jobs.length; k += 1) {
      const j = (k + round) % jobs.length;
      if (round >= (jobs[j].rounds ?? rounds)) continue;
      execFileSync('sync');
      times[j].push(await jobs[j].run());
    }
  }
  const mid = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  return jobs.map((job, j) => ({ name: job.name, median: mid(times[j]), times: times[j] }));
}
