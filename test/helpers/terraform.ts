/**
 * Runs the real `terraform` in a synthesized stack's directory, with an empty CLI configuration (no
 * registry, no checkpoint), and reads what a plan would do from `terraform show -json`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

export interface PlannedChange {
  readonly address: string;
  /** The resource's name (its logical id), e.g. `app_a_identity-1_0A1B2C3D`. */
  readonly name: string;
  readonly actions: string[];
  readonly before: any;
  readonly after: any;
}

export interface TerraformRun {
  run(args: string[], env?: NodeJS.ProcessEnv): { status: number | null; output: string };
  /** `terraform plan` of the stack as synthesized now: every resource change, no-ops included. */
  plannedChanges(): PlannedChange[];
}

/** `home`: a directory of the test's own (the CLI configuration file goes there); `stackDir`: where cdk.tf.json is. */
export function terraformIn(home: string, stackDir: string): TerraformRun {
  const cliConfig = path.join(home, 'empty.tfrc');
  fs.writeFileSync(cliConfig, '');
  const baseEnv = {
    ...process.env,
    TF_CLI_CONFIG_FILE: cliConfig,
    TF_IN_AUTOMATION: '1',
    CHECKPOINT_DISABLE: '1',
    NO_COLOR: '1',
  };
  const run: TerraformRun['run'] = (args, env = {}) => {
    const result = spawnSync('terraform', args, {
      cwd: stackDir,
      env: { ...baseEnv, ...env },
      encoding: 'utf8',
      timeout: 300_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
  };
  return {
    run,
    plannedChanges() {
      const planFile = path.join(home, 'test.tfplan');
      const plan = run(['plan', '-input=false', `-out=${planFile}`]);
      if (plan.status !== 0) throw new Error(`terraform plan failed:\n${plan.output}`);
      const shown = spawnSync('terraform', ['show', '-json', planFile], {
        cwd: stackDir,
        env: baseEnv,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
      fs.rmSync(planFile, { force: true });
      const json = JSON.parse(shown.stdout) as { resource_changes?: Array<any> };
      return (json.resource_changes ?? []).map((r) => ({
        address: r.address,
        name: r.name,
        actions: r.change.actions,
        before: r.change.before,
        after: r.change.after,
      }));
    },
  };
}
