/**
 * Remote-host benchmarks, each against the same job run locally in the same run, on a loopback sshd "host"
 * (test/helpers/sshd.ts) whose hoststore is this build:
 *  - apply: `hoststore apply` of 20 disks of 500 GB with mounts onto the remote host vs the same apply locally;
 *  - noop: a no-op `terraform apply` of 10 volumes with mounts (20 things and the manifest), remote vs local;
 *  - fleet: one host's cost for 10 volumes with mounts: `hoststore apply` from nothing and `hoststore plan`
 *    of the converged host, remote vs local, with the local CPU each remote host costs (the README's fleet
 *    paragraph scales these to 100 hosts).
 * `npm run bench -- remote [apply|noop|fleet]` runs one of them. Every hoststore run opens its own SSH
 * connection (a deploy opens one a host); every round is printed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { replicaHostPath } from '../../src/schema.js';
import { readMountTable } from '../../provider/host/mounts.js';
import { App, TerraformStack } from 'cdktf';
import { Mount, StorageProject, Volume } from '../../src/index.js';
import { synthModel } from '../helpers/synth-model.js';
import { cleanupRoot } from '../helpers/host-fixture.js';
import { terraformAvailable, type StorageModel } from '../helpers/cdktf-app.js';
import { startSshHost, type SshHost } from '../helpers/sshd.js';
import { withRoot } from './host-bench.js';
import { interleaved, result, type BenchResult, type JobTimes } from './measure.js';
import { terraformDir } from './terraform-dir.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../provider/cli.js');
const STACK = 'bench';
const APPLY = ['apply', '-auto-approve', '-input=false', '-no-color'];

const log = (line: string) => process.stdout.write(`  remote: ${line}\n`);
const ms = (t: number) => t.toFixed(0);
const rounds = (a: JobTimes, b: JobTimes) => a.times.map((t, i) => `${ms(t)}/${ms(b.times[i])}`).join(' ');

function disks(n: number): StorageModel[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `d${i}`,
    type: 'Disk' as const,
    props: { name: `d${i}`, sizeGb: 500 },
    mounts: [{ id: `m${i}`, service: `s${i}`, mountPath: '/data' }],
  }));
}

function volumes(n: number): StorageModel[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `v${i}`,
    type: 'Volume' as const,
    props: { sizeGb: 10 },
    mounts: [{ id: `m${i}`, service: `s${i}`, mountPath: '/data' }],
  }));
}

/** The synth output of `storage` at `root`, on `host` when given (else local); a temporary directory: remove it. */
function synth(root: string, storage: StorageModel[], host?: SshHost): string {
  return synthModel({ stack: STACK, root, storage }, host ? { host: host.connection } : {});
}

async function withSynth<T>(
  root: string,
  storage: StorageModel[],
  host: SshHost | undefined,
  fn: (out: string) => Promise<T>,
): Promise<T> {
  const out = synth(root, storage, host);
  try {
    return await fn(out);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** CPU seconds (user + system) of this process's waited-for children so far, from /proc (clock ticks of 10 ms). */
function childrenCpuMs(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 of stat(5) (cutime, cstime) are the 14th and 15th after the command.
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/**
 * `hoststore ARGS` as its own process; returns its wall and local CPU milliseconds; throws on failure. Each run
 * gets a temp directory of its own, so its SSH connection-sharing directory is new and a remote run pays the
 * handshake, as a deploy does once per host (a connection left by an earlier run would hide it).
 */
function hoststore(...args: string[]): { ms: number; cpuMs: number; stdout: string } {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-bench-tmp-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
    delete env.XDG_RUNTIME_DIR;
    const cpu = childrenCpuMs();
    const start = performance.now();
    const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
    const t = performance.now() - start;
    if (run.status !== 0)
      throw new Error(
        `hoststore ${args.join(' ')} failed (${run.error?.message ?? run.status}):\n${run.stderr.slice(-3000)}`,
      );
    return { ms: t, cpuMs: childrenCpuMs() - cpu, stdout: run.stdout };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A run that silently did nothing must not pass for a fast one: every service's storage is mounted. */
function assertMounted(root: string, n: number, by: string, project = 'app'): void {
  const targets = new Set(readMountTable().map((e) => e.target));
  const missing = Array.from({ length: n }, (_, i) => replicaHostPath(root, project, `s${i}`, 1, '/data')).filter(
    (p) => !targets.has(p),
  );
  if (missing.length > 0) throw new Error(`${by} left ${missing.length} of ${n} mounts missing, e.g. ${missing[0]}`);
}

async function applyBench(host: SshHost): Promise<BenchResult> {
  const n = 20;
  const job = (where: 'remote' | 'local') => () =>
    withRoot((root) =>
      withSynth(root, disks(n), where === 'remote' ? host : undefined, async (out) => {
        const { ms: t } = hoststore('apply', '--app', out, '--auto-approve');
        assertMounted(root, n, `hoststore apply (${where})`);
        log(`hoststore apply, ${n} disks of 500 GB with mounts, ${where}: ${ms(t)} ms`);
        return t;
      }),
    );
  const [remote, local] = await interleaved(7, [
    { name: 'remote', run: job('remote') },
    { name: 'local', run: job('local') },
  ]);
  return result(
    `hoststore apply of ${n} disks of 500 GB with mounts: on a loopback remote host over SSH vs on this host (rounds, ms: ${rounds(remote, local)})`,
    remote.median,
    local.median,
    'ms',
    { max: 1.3 },
  );
}

async function noopBench(host: SshHost): Promise<BenchResult> {
  const n = 10;
  const converged = async (where: 'remote' | 'local', root: string, out: string) => {
    const tf = terraformDir(out, STACK);
    tf.run(...APPLY);
    assertMounted(root, n, `terraform apply (${where})`);
    return async () => {
      const { ms: t, output } = tf.run(...APPLY);
      const noop = /No changes\./.test(output) || /0 added, 0 changed, 0 destroyed/.test(output);
      log(`no-op terraform apply, ${tf.resources} resources, ${where}: ${ms(t)} ms${noop ? '' : ' (NOT a no-op)'}`);
      if (!noop) throw new Error(`the ${where} terraform apply was not a no-op:\n${output.slice(-2000)}`);
      return t;
    };
  };
  return withRoot((remoteRoot) =>
    withRoot((localRoot) =>
      withSynth(remoteRoot, volumes(n), host, (remoteOut) =>
        withSynth(localRoot, volumes(n), undefined, async (localOut) => {
          const remoteRun = await converged('remote', remoteRoot, remoteOut);
          const localRun = await converged('local', localRoot, localOut);
          const [remote, local] = await interleaved(7, [
            { name: 'remote', run: remoteRun },
            { name: 'local', run: localRun },
          ]);
          return result(
            `no-op terraform apply of ${n} volumes with mounts (${n * 2} things and the manifest): remote host vs this host (rounds, ms: ${rounds(remote, local)})`,
            remote.median,
            local.median,
            'ms',
            { max: 1.5 },
          );
        }),
      ),
    ),
  );
}

/** One host's cost for 10 volumes with mounts: apply from nothing and plan of the converged host, remote and local. */
async function fleetBench(host: SshHost): Promise<BenchResult[]> {
  const n = 10;
  const cpu: Record<string, number[]> = { 'remote apply': [], 'remote plan': [] };
  const plans: Record<string, number[]> = { remote: [], local: [] };
  const job = (where: 'remote' | 'local') => () =>
    withRoot((root) =>
      withSynth(root, volumes(n), where === 'remote' ? host : undefined, async (out) => {
        const apply = hoststore('apply', '--app', out, '--auto-approve');
        assertMounted(root, n, `hoststore apply (${where})`);
        const plan = hoststore('plan', '--app', out);
        plans[where].push(plan.ms);
        if (where === 'remote') {
          cpu['remote apply'].push(apply.cpuMs);
          cpu['remote plan'].push(plan.cpuMs);
        }
        log(
          `${where}, ${n} volumes with mounts: apply from nothing ${ms(apply.ms)} ms (local CPU ${ms(apply.cpuMs)} ms), ` +
            `plan of the converged host ${ms(plan.ms)} ms (local CPU ${ms(plan.cpuMs)} ms)`,
        );
        return apply.ms;
      }),
    );
  const [remote, local] = await interleaved(5, [
    { name: 'remote', run: job('remote') },
    { name: 'local', run: job('local') },
  ]);
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cpuNote = (key: string) => `local CPU per host ${ms(mid(cpu[key]))} ms (rounds: ${cpu[key].map(ms).join(' ')})`;
  return [
    result(
      `one host's apply of ${n} volumes (10 GB) with mounts from nothing, remote vs local; ${cpuNote('remote apply')} (rounds, ms: ${rounds(remote, local)})`,
      remote.median,
      local.median,
      'ms',
      {},
    ),
    result(
      `one host's plan of ${n} converged volumes with mounts, remote vs local; ${cpuNote('remote plan')} (rounds, ms: ${plans.remote
        .map((t, i) => `${ms(t)}/${ms(plans.local[i])}`)
        .join(' ')})`,
      mid(plans.remote),
      mid(plans.local),
      'ms',
      {},
    ),
  ];
}

/**
 * Several hosts at once: `hoststore apply` of 10 volumes with mounts on each of `hosts` (every host its own
 * sshd and root, all on this machine), at --parallelism 1 and at one per host, from nothing each round. Shows
 * that hosts overlap, and the local CPU a host costs in a run that reaches several (the per-host figures of
 * fleetBench include the local process's own start).
 */
async function fleetParallelBench(hosts: readonly SshHost[]): Promise<BenchResult> {
  const n = 10;
  const cpu: Record<string, number[]> = {};
  const job = (parallelism: number) => async () => {
    const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-bench-fleet-')));
    const roots = hosts.map((_, h) => path.join(base, `root-${h}`));
    const out = path.join(base, 'cdktf.out');
    try {
      for (const root of roots) fs.mkdirSync(root, { mode: 0o755 });
      const app = new App({ outdir: out });
      const stack = new TerraformStack(app, STACK);
      hosts.forEach((host, h) => {
        const project = new StorageProject(stack, `p${h}`, { root: roots[h], host: host.connection });
        for (const v of volumes(n)) {
          const volume = new Volume(project, v.id, v.props as never);
          for (const { id, ...m } of v.mounts ?? []) new Mount(project, id, { storage: volume, ...m });
        }
      });
      app.synth();
      const run = hoststore('apply', '--app', out, '--auto-approve', '--parallelism', String(parallelism));
      hosts.forEach((_, h) =>
        assertMounted(roots[h], n, `hoststore apply of ${hosts.length} hosts (host ${h})`, `p${h}`),
      );
      (cpu[parallelism] ??= []).push(run.cpuMs);
      log(
        `${hosts.length} hosts x ${n} volumes with mounts, --parallelism ${parallelism}: ${ms(run.ms)} ms (local CPU ${ms(run.cpuMs)} ms)`,
      );
      return run.ms;
    } finally {
      for (const root of roots) if (fs.existsSync(root)) cleanupRoot(root);
      fs.rmSync(base, { recursive: true, force: true });
    }
  };
  const [serial, parallel] = await interleaved(3, [
    { name: '1', run: job(1) },
    { name: `${hosts.length}`, run: job(hosts.length) },
  ]);
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const allCpu = Object.values(cpu).flat();
  return result(
    `${hosts.length} hosts x ${n} volumes with mounts from nothing: hoststore apply at --parallelism ${hosts.length} vs 1 ` +
      `(all hosts share this machine's CPU); local CPU of the whole run ${ms(mid(allCpu))} ms, ${ms(mid(allCpu) / hosts.length)} ms a host ` +
      `(rounds, ms: ${rounds(parallel, serial)})`,
    parallel.median,
    serial.median,
    'ms',
    {},
  );
}

/** Puts this build's CLI on the host's PATH: the helper's own wrapper points at the CLI as the tests see it (from test/), and the bench runs from dist/test. */
async function withBuildsHoststore(host: SshHost): Promise<SshHost> {
  fs.writeFileSync(path.join(host.binDir, 'hoststore'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`, {
    mode: 0o755,
  });
  return host;
}

export async function remoteBench(which?: string): Promise<BenchResult[]> {
  const known = ['apply', 'noop', 'fleet'];
  if (which !== undefined && !known.includes(which))
    throw new Error(`unknown remote benchmark '${which}': one of ${known.join(', ')}`);
  const want = (name: string) => which === undefined || which === name;
  if (!fs.existsSync('/usr/sbin/sshd')) {
    process.stdout.write('skipping remote benchmarks: no /usr/sbin/sshd (apt-get install openssh-server)\n');
    return [];
  }
  const host = await withBuildsHoststore(await startSshHost({ withHoststore: false }));
  try {
    const results: BenchResult[] = [];
    if (want('apply')) results.push(await applyBench(host));
    if (want('noop')) {
      if (terraformAvailable()) results.push(await noopBench(host));
      else process.stdout.write('skipping remote benchmark noop: terraform is not on the PATH\n');
    }
    if (want('fleet')) {
      results.push(...(await fleetBench(host)));
      const more = [host];
      try {
        for (let h = 1; h < 4; h += 1)
          more.push(await withBuildsHoststore(await startSshHost({ withHoststore: false })));
        results.push(await fleetParallelBench(more));
      } finally {
        for (const other of more.slice(1)) await other.stop();
      }
    }
    return results;
  } finally {
    await host.stop();
  }
}
