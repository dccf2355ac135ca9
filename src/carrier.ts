/**
 * Renders one stateful thing as two carrier resources, identity and config (see src/contract.md), so a
 * change that can be made in place never makes Terraform run the thing's delete.
 */
import type { IConstruct } from 'constructs';
import type { IResolvable, IResolveContext, TerraformResource } from 'cdktf';
import { frameworkOf, stackOf, type Framework } from './framework.js';
import type { Carrier } from './schema.js';
import { escapeAll, escapeTemplate } from './validation.js';
import { handlerCommand, type HandlerOp, type KindName } from './kinds.js';

/** The kinds the table (src/kinds.ts) names; each carrier runs its kind's handler. */
export type HandlerKind = KindName;

/** A carrier resource as the constructs refer to it (the framework's own TerraformResource). */
export interface CarrierResource extends IConstruct {
  readonly fqn: string;
  readonly friendlyUniqueId: string;
  readonly terraformResourceType: string;
}

export interface CarrierPairProps {
  readonly carrier: Carrier;
  readonly kind: HandlerKind;
  /** The command the provisioners run: an absolute path, or a name looked up on PATH. */
  readonly cli: string;
  /** Read at synth (props may change until then); throws one line when the construct is invalid. */
  readonly identity: () => Record<string, string>;
  /** The full spec (identity fields included), read at synth like `identity`. */
  readonly spec: () => Record<string, string>;
  readonly dependsOn?: CarrierResource[];
  /**
   * A file whose presence fails Terraform's plan (and apply) with `message`: the config carrier's
   * precondition, checked even when nothing changed (an interrupted grow's marker).
   */
  readonly failPlanIfExists?: { readonly file: string; readonly message: string };
}

export interface CarrierPair {
  readonly identity: CarrierResource;
  readonly config: CarrierResource;
}

const COMMAND = (kind: HandlerKind, op: HandlerOp) => handlerCommand(kind, op);

function provisioner(
  props: Pick<CarrierPairProps, 'carrier' | 'kind' | 'cli'>,
  op: 'converge' | 'delete',
  stack?: string,
) {
  const self = props.carrier === 'terraform_data' ? 'self.triggers_replace' : 'self.triggers';
  // A delete says which stack it runs for (outside the triggers, so adding it replaces nothing): storage
  // another stack owns is only borrowed, and its delete releases the borrower's mounts, nothing more.
  const who: Record<string, string> =
    op === 'delete' && stack !== undefined ? { HOSTSTORE_STACK: escapeTemplate(stack) } : {};
  return {
    type: 'local-exec' as const,
    command: COMMAND(props.kind, op),
    environment: {
      HOSTSTORE_CLI: escapeTemplate(String(props.cli)),
      HOSTSTORE_SPEC: `\${jsonencode(${self})}`,
      ...who,
    },
    ...(op === 'delete' ? { when: 'destroy' as const } : {}),
  };
}

interface CarrierConfig {
  readonly type: Carrier;
  readonly triggers: IResolvable;
  readonly provisioners: ReturnType<typeof provisioner>[];
  readonly dependsOn?: CarrierResource[];
  /** More resources to wait for, listed at synth (the manifest waits for everything its project declares). */
  readonly dependsOnLater?: () => CarrierResource[];
  readonly lifecycle?: TerraformResource['lifecycle'];
}

type CarrierClass = new (scope: IConstruct, id: string, config: CarrierConfig) => TerraformResource;

/** One carrier class per framework copy: it must extend that copy's TerraformResource. */
const classes = new WeakMap<Framework, CarrierClass>();

/**
 * A `terraform_data` or `null_resource` made from the stack's framework copy. Not cdktf's DataResource: that
 * runs `terraform version` once per resource at every validation (~60 ms each; a 1,000-volume synth took
 * minutes). Neither type has a provider construct here (`terraform_data` is built into Terraform >= 1.4;
 * the null provider's requirement is added to the stack), so neither names one in its metadata.
 */
function carrierClass(framework: Framework): CarrierClass {
  let found = classes.get(framework);
  if (found) return found;
  found = class extends framework.TerraformResource {
    private readonly triggers: IResolvable;
    private readonly attribute: string;
    private readonly dependsOnLater?: () => CarrierResource[];

    constructor(scope: IConstruct, id: string, config: CarrierConfig) {
      super(scope as never, id, {
        terraformResourceType: config.type,
        ...(config.type === 'terraform_data' ? { terraformGeneratorMetadata: { providerName: 'terraform' } } : {}),
        dependsOn: config.dependsOn as never,
        provisioners: config.provisioners,
        lifecycle: config.lifecycle,
      });
      this.triggers = config.triggers;
      this.attribute = config.type === 'terraform_data' ? 'triggers_replace' : 'triggers';
      this.dependsOnLater = config.dependsOnLater;
    }

    get terraformMetaArguments(): Record<string, unknown> {
      const meta = super.terraformMetaArguments;
      if (!this.dependsOnLater) return meta;
      // The address as Terraform reads it in depends_on (what the framework renders an fqn as there).
      const later = this.dependsOnLater().map((r) => `${r.terraformResourceType}.${r.friendlyUniqueId}`);
      return { ...meta, dependsOn: [...((meta.dependsOn as string[] | undefined) ?? []), ...later] };
    }

    protected synthesizeAttributes(): Record<string, unknown> {
      return { [this.attribute]: this.triggers };
    }

    protected synthesizeHclAttributes(): Record<string, unknown> {
      return { [this.attribute]: { value: this.triggers, isBlock: false, type: 'map', storageClassType: 'stringMap' } };
    }
  };
  classes.set(framework, found);
  return found;
}

/**
 * Triggers read when the stack is resolved, from the construct's props as they are then (a user's Aspect may
 * have changed them). An invalid construct throws its one line. Not while the framework prepares the stack:
 * `app.synth()` resolves everything once before it runs Aspects and validations (which then list every
 * problem), to find references across stacks, and triggers hold none, so that pass gets a placeholder.
 */
function lazyTriggers(read: () => Record<string, string>): IResolvable {
  // Not Lazy.anyValue: the framework appends a token's creation stack to its error; this error is one line.
  return {
    creationStack: [],
    resolve: (context: IResolveContext) => (context.preparing ? {} : escapeAll(read())),
    toString: () => '<hoststore triggers>',
  };
}

const nullProviderStacks = new WeakSet<IConstruct>();

/** `null_resource` needs the hashicorp/null provider: required once per stack, with no provider construct. */
function requireNullProvider(scope: IConstruct): void {
  const stack = stackOf(scope) as IConstruct & { addOverride(path: string, value: unknown): void };
  if (nullProviderStacks.has(stack)) return;
  nullProviderStacks.add(stack);
  stack.addOverride('terraform.required_providers.null', { source: 'hashicorp/null', version: '~> 3.2' });
}

/**
 * The config carrier's precondition for `failPlanIfExists`. Terraform requires a condition to refer to
 * some object: "or the identity does not exist" is also true (nothing to have been interrupted).
 */
function failPlanIfExists(props: CarrierPairProps, identityAddress: string) {
  if (!props.failPlanIfExists) return undefined;
  const file = escapeTemplate(JSON.stringify(props.failPlanIfExists.file));
  return {
    precondition: [
      {
        condition: `\${!fileexists(${file}) || ${identityAddress} == null}`,
        errorMessage: escapeTemplate(props.failPlanIfExists.message),
      },
    ],
  };
}

export function renderCarrierPair(scope: IConstruct, suffix: string, props: CarrierPairProps): CarrierPair {
  const framework = frameworkOf(scope);
  const Carrier = carrierClass(framework);
  if (props.carrier === 'null_resource') requireNullProvider(scope);
  const stack = stackOf(scope).node.id;
  const identity = new Carrier(scope, `identity${suffix}`, {
    type: props.carrier,
    triggers: lazyTriggers(props.identity),
    provisioners: [provisioner(props, 'delete', stack)],
    dependsOn: props.dependsOn,
  });
  const config = new Carrier(scope, `config${suffix}`, {
    type: props.carrier,
    triggers: lazyTriggers(props.spec),
    provisioners: [provisioner(props, 'converge')],
    dependsOn: [identity, ...(props.dependsOn ?? [])],
    lifecycle: failPlanIfExists(props, `${props.carrier}.${identity.friendlyUniqueId}`),
  });
  return { identity, config };
}

/** The project's manifest: one config-only carrier, converged after every config carrier `dependsOn` lists at synth. */
export function renderManifestCarrier(
  scope: IConstruct,
  props: Pick<CarrierPairProps, 'carrier' | 'cli' | 'spec'> & { readonly dependsOn: () => CarrierResource[] },
): CarrierResource {
  const framework = frameworkOf(scope);
  if (props.carrier === 'null_resource') requireNullProvider(scope);
  return new (carrierClass(framework))(scope, 'manifest', {
    type: props.carrier,
    triggers: lazyTriggers(props.spec),
    provisioners: [provisioner({ ...props, kind: 'project' }, 'converge')],
    dependsOnLater: props.dependsOn,
  });
}

export interface TerraformDataConfig {
  readonly triggersReplace: Record<string, string>;
  readonly provisioners?: ReturnType<typeof provisioner>[];
  readonly dependsOn?: CarrierResource[];
}

/** A `terraform_data` with fixed triggers, made with the stack's framework copy. */
export function makeTerraformData(scope: IConstruct, id: string, config: TerraformDataConfig): CarrierResource {
  const framework = frameworkOf(scope);
  return new (carrierClass(framework))(scope, id, {
    type: 'terraform_data',
    triggers: lazyTriggers(() => config.triggersReplace),
    provisioners: config.provisioners ?? [],
    dependsOn: config.dependsOn,
  });
}
