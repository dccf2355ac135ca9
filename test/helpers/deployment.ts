/**
 * A stack deployed with the real `terraform` from a throwaway cdktf app, on a temporary root: each step
 * writes a model, synthesizes it and applies. The provisioners run a wrapper CLI that logs each invocation,
 * then the real one. The caller registers `cleanup` (root, then app) to run after the test.
 */
import * as path from 'node:path';
import { makeHostFixture } from './host-fixture.js';
import { CdktfApp, type AppModel } from './cdktf-app.js';
import { loggingCli } from './cli.js';
import { terraformIn, type TerraformRun } from './terraform.js';

/** One step's model: the storage, and optionally another root or project name than the deployment's. */
export type StepModel = Pick<AppModel, 'storage'> & Partial<Pick<AppModel, 'root' | 'projectName'>>;

export interface Deployment {
  readonly root: string;
  readonly app: CdktfApp;
  readonly tf: TerraformRun;
  /** Every hoststore invocation so far, one line each (its arguments). */
  calls(): string[];
  /** Synthesizes the stack of `model` (and runs terraform init the first time). */
  write(model: StepModel): void;
  apply(env?: NodeJS.ProcessEnv): { status: number | null; output: string };
  deploy(model: StepModel): { status: number | null; output: string };
  /** Removes what the deployment made: the root (unmounting it) and the app. */
  cleanup(): void;
}

export function deployment(stack = 'conv'): Deployment {
  const host = makeHostFixture();
  const app = new CdktfApp();
  const cli = loggingCli(app.dir);
  const tf = terraformIn(app.dir, path.join(app.dir, 'cdktf.out', 'stacks', stack));
  let initialized = false;
  const d: Deployment = {
    root: host.root,
    app,
    tf,
    calls: cli.calls,
    write(model) {
      app.write({ ...model, stack, root: model.root ?? host.root, cli: cli.path });
      app.cdktf('synth');
      if (initialized) return;
      const init = tf.run(['init', '-input=false']);
      if (init.status !== 0) throw new Error(`terraform init failed:\n${init.output}`);
      initialized = true;
    },
    // Cron entries of the stack's policies go to the app's own directory (unless the test names one), never
    // the host's /etc/cron.d.
    apply: (env) =>
      tf.run(['apply', '-auto-approve', '-input=false'], {
        HOSTSTORE_CRON_DIR: process.env.HOSTSTORE_CRON_DIR ?? path.join(app.dir, 'cron.d'),
        ...env,
      }),
    deploy(model) {
      d.write(model);
      return d.apply();
    },
    cleanup() {
      try {
        host.cleanup();
      } finally {
        app.cleanup();
      }
    },
  };
  return d;
}

/** The result as a test wants it: the status, and the output only when it failed (so a failure shows why). */
export const ok = (result: { status: number | null; output: string }) => ({
  status: result.status,
  output: result.status === 0 ? '' : result.output,
});
