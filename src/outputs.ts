/**
 * Terraform outputs with stable names (`<project>_<construct path under the project>_<what>`), so a
 * container runtime, `cdktf output` or another stack can read host paths without a hash in the name.
 */
import type { IConstruct } from 'constructs';
import type { IResolveContext } from 'cdktf';
import { frameworkOf, stackOf } from './framework.js';

/** A Terraform output as the constructs expose it: its name in the synthesized stack. */
export interface OutputRef extends IConstruct {
  /** The output's name in Terraform (`cdktf output`, `terraform output`). */
  readonly friendlyUniqueId: string;
}

/** Output names in use per stack: a second construct asking for one gets a validation error, never a silent overwrite. */
const namesByStack = new WeakMap<IConstruct, Map<string, string>>();

/**
 * `<project>_<path>_<what>`: the construct's path under its project with `/` as `_`, and any character
 * Terraform does not allow in a name (anything but letters, digits, `-` and `_`) as `_`.
 */
export function outputName(
  project: IConstruct & { readonly name: string },
  construct: IConstruct,
  what: string,
): string {
  const under = construct.node.path.slice(project.node.path.length + 1);
  const name = `${project.name}_${under}_${what}`.replace(/[^A-Za-z0-9_-]/g, '_');
  return /^[A-Za-z_]/.test(name) ? name : `_${name}`;
}

/** A TerraformOutput of the stack's framework, named `name`, whose value is read at synth. */
export function renderOutput(
  scope: IConstruct,
  id: string,
  name: string,
  value: () => unknown,
  description: string,
): OutputRef {
  const framework = frameworkOf(scope);
  const stack = stackOf(scope);
  let names = namesByStack.get(stack);
  if (!names) namesByStack.set(stack, (names = new Map()));
  const other = names.get(name);
  const clash =
    other === undefined
      ? undefined
      : `Terraform output '${name}' is also made by ${other}: output names are <project>_<construct path>_<what>, so give one of the two another id (or its project another name)`;
  if (other === undefined) names.set(name, `${scope.node.path}/${id}`);
  const output = new framework.TerraformOutput(scope as never, id, {
    // Read at synth; a plain resolvable (not Lazy) so an error stays one line, without a creation stack.
    value: {
      creationStack: [],
      resolve: (context: IResolveContext) => {
        if (context.preparing) return null; // holds no reference to another stack (see carrier.ts)
        if (clash) throw new Error(`[${scope.node.path}] ${clash}`);
        return value();
      },
      toString: () => `<hoststore output ${name}>`,
    },
    description,
  });
  output.overrideLogicalId(name);
  if (clash) scope.node.addValidation({ validate: () => [clash] });
  return output;
}
