/**
 * A synthesized stack's directory with `terraform init` done in it, for the deploy benchmarks: its state,
 * CLI config and the output of each command stay inside the synth output (which its maker removes).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export interface TerraformDir {
  /** The synth output (cdktf.out) holding the stack. */
  readonly out: string;
  /** Runs `terraform ARGS...` in the stack's directory; returns its milliseconds and output, throws on failure. */
  run(...args: string[]): { ms: number; output: string };
  /** Forgets everything Terraform made (for an apply from nothing): the state file and its backup. */
  removeState(): void;
  /** Number of resources in the synthesized stack. */
  readonly resources: number;
}

/** Terraform reads no registry or plugin cache here: an empty CLI config, and no checkpoint calls. */
function env(out: string): NodeJS.ProcessEnv {
  const config = path.join(out, 'empty.tfrc');
  if (!fs.existsSync(config)) fs.writeFileSync(config, '');
  return { ...process.env, TF_CLI_CONFIG_FILE: config, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1', NO_COLOR: '1' };
}

/**
 * Runs `terraform init` (untimed) in `<out>/stacks/<stack>`. The state goes next to the stack: cdktf renders
 * a local backend whose path is under the directory the synth ran in (the repository here).
 */
export function terraformDir(out: string, stack: string): TerraformDir {
  const dir = path.join(out, 'stacks', stack);
  const state = path.join(dir, 'terraform.tfstate');
  const log = path.join(out, 'terraform.log');
  const vars = env(out);
  const run = (...args: string[]) => {
    // Output to a file: an apply of thousands of resources prints more than a pipe's buffer holds.
    const fd = fs.openSync(log, 'w');
    const start = performance.now();
    const { status, error } = spawnSync('terraform', args, { cwd: dir, env: vars, stdio: ['ignore', fd, fd] });
    const ms = performance.now() - start;
    fs.closeSync(fd);
    const output = fs.readFileSync(log, 'utf8');
    if (status !== 0)
      throw new Error(`terraform ${args.join(' ')} failed (${error?.message ?? status}):\n${output.slice(-3000)}`);
    return { ms, output };
  };
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8'));
  const resources = Object.values(json.resource ?? {}).reduce(
    (sum: number, byName) => sum + Object.keys(byName as object).length,
    0,
  );
  run('init', '-input=false', `-backend-config=path=${state}`);
  return {
    out,
    run,
    removeState: () => {
      fs.rmSync(state, { force: true });
      fs.rmSync(`${state}.backup`, { force: true });
    },
    resources,
  };
}
