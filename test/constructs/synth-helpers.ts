/** Builds a stack in a fresh test app and returns its synthesized JSON, or the validation errors. */
import { App, TerraformStack, Testing } from 'cdktf';
import { StorageProject, type StorageProjectProps } from '../../src/index.js';

export type Build = (project: StorageProject, stack: TerraformStack) => void;

export function makeStack(build: Build, props: StorageProjectProps = {}): TerraformStack {
  const stack = new TerraformStack(Testing.app() as App, 'stack');
  build(new StorageProject(stack, 'proj', { cli: '/opt/hoststore/cli.js', ...props }), stack);
  return stack;
}

/** The synthesized JSON of a valid stack (validations run). */
export function synth(build: Build, props?: StorageProjectProps): any {
  return JSON.parse(Testing.synth(makeStack(build, props), true));
}

/** The lines of the synth validation error (`[path] message`), or [] when the stack is valid. */
export function errors(build: Build, props?: StorageProjectProps): string[] {
  try {
    Testing.synth(makeStack(build, props), true);
    return [];
  } catch (error) {
    const message = (error as Error).message;
    if (!message.startsWith('Validation failed with the following errors:')) throw error;
    return message
      .split('\n')
      .slice(1)
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('If you wish to ignore'));
  }
}

export function carriers(json: any): Record<string, any> {
  return json.resource?.terraform_data ?? {};
}

/** Carriers by construct path (`stack/proj/db/config`), rebuilt from logical ids (`proj_db_config_1A2B3C4D`). */
export function byPath(json: any): Record<string, any> {
  return Object.fromEntries(
    Object.entries(carriers(json)).map(([id, r]) => [`stack/${id.replace(/_[0-9A-F]{8}$/, '').replace(/_/g, '/')}`, r]),
  );
}
