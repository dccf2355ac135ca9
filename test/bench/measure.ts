/** Timing helpers for the benchmarks: medians of repeated runs, ratios against a baseline of the same run. */
import { performance } from 'node:perf_hooks';

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

export function result(name: string, measured: number, baseline: number, unit: string, target: { max?: number; min?: number }): BenchResult {
  const ratio = measured / baseline;
  const pass = (target.max === undefined || ratio <= target.max) && (target.min === undefined || ratio >= target.min);
  return {
    name, measured: `${measured.toFixed(1)} ${unit}`, baseline: `${baseline.toFixed(1)} ${unit}`, ratio: Number(ratio.toFixed(2)),
    target: target.max !== undefined ? `<= ${target.max}x` : `>= ${target.min}x`, pass,
  };
}
