/** `hoststore dashboard` run as a real process of the built CLI, for the browser tests and the bench. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export interface DashboardProcess {
  /** Where it listens, from its start line, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly child: ChildProcessWithoutNullStreams;
  /** performance.now() when the process was spawned. */
  readonly startedAt: number;
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s; resolves with its exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `hoststore dashboard --listen 127.0.0.1:0 ARGS` (`cli`: the built dist/provider/cli.js) and waits for its start line
 * (`dashboard: http://HOST:PORT/ ...`, the port it really got), at most `timeoutMs`.
 */
export async function startDashboard(
  cli: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 20_000,
): Promise<DashboardProcess> {
  const startedAt = performance.now();
  const child = spawn(process.execPath, [cli, 'dashboard', '--listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(`no start line within ${timeoutMs} ms`), timeoutMs);
    const fail = (why: string) => {
      clearTimeout(timer);
      void stop();
      reject(new Error(`hoststore dashboard ${args.join(' ')}: ${why}\nstdout: ${stdout}\nstderr: ${stderr}`));
    };
    child.stdout.on('data', () => {
      const match = /dashboard: (http:\/\/[^\s/]+)\/?/.exec(stdout);
      if (!match) return;
      if (match[1].endsWith(':0')) return fail('its start line shows port 0, not the port it really listens on');
      clearTimeout(timer);
      resolve(match[1]);
    });
    child.on('exit', (code) => fail(`exited with ${code} before listening`));
  });
  return { url, child, startedAt, output: () => stdout + stderr, stop };
}
