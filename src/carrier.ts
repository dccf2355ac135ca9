/**
 * Renders the carriers (see src/contract.md): one per stateful thing, whose identity is its triggers (so a
 * change that can be made in place never makes Terraform run the thing's delete), and one manifest per
 * project, which converges the whole project in one process.
 */
import type { IConstruct } from 'constructs';
import type { IResolvable, IResolveContext, TerraformResource } from 'cdktf';
import { frameworkOf, stackOf, type Framework } from './framework.js';
import type { Carrier } from './schema.js';
import { HOST_ENV, type HostConnection } from './host-connection.js';
import { escapeAll, escapeTemplate } from './validation.js';
import { handlerCommand, type HandlerOp, type KindName } from './kinds.js';
import { PROJECT_NOW_ENV, SPEC_VAR_PREFIX, specEntryLiteral, specsDigest, type ThingKind } from './manifest-specs.js';

/** The kinds the table (src/kinds.ts) names; each carrier runs its kind's handler. */
export type HandlerKind = KindName;

/** A carrier resource as the constructs refer to it (the framework's own TerraformResource). */
export interface CarrierResource extends IConstruct {
  readonly fqn: string;
  readonly friendlyUniqueId: string;
  readonly terraformResourceType: string;
}

export interface ThingCarrierProps {
  readonly carrier: Carrier;
  readonly kind: ThingKind;
  /** The command the provisioners run: an absolute path, or a name looked up on PATH. */
  readonly cli: string;
  /** A remote project's host: its provisioners get it as HOSTSTORE_HOST (a local one's get nothing). */
  readonly host?: HostConnection;
  /** Read at synth (props may change until then); throws one line when the construct is invalid. */
  readonly identity: () => Record<string, string>;
  /** The full spec (identity fields included), read at synth like `identity`. */
  readonly spec: () => Record<string, string>;
  readonly dependsOn?: CarrierResource[];
}

/** One stateful thing as rendered: what other things wait for, and its full spec. */
export interface ThingCarrier {
  /** `<construct>/identity[-n]`: identity triggers, the full spec, and the destroy-time delete. */
  readonly resource: CarrierResource;
  /** The full spec as the carrier holds it, read at synth: the manifest writes it out for its converge. */
  readonly spec: () => Record<string, string>;
}

const COMMAND = (kind: HandlerKind, op: HandlerOp) => handlerCommand(kind, op);

function provisioner(
  props: {
    readonly carrier: Carrier;
    readonly kind: HandlerKind;
    readonly cli: string;
    readonly host?: HostConnection;
  },
  op: 'converge' | 'delete',
  more: Record<string, unknown> = {},
) {
  const self = props.carrier === 'terraform_data' ? 'self.triggers_replace' : 'self.triggers';
  // A literal of the current config: Terraform runs a destroy-time provisioner with the config's block and
  // the old state's `self`, so a delete reaches the host the code names now (and sees a move by the
  // spec's `host`). Nothing for a local project: its provisioners stay exactly as they were.
  const where: Record<string, string> = props.host ? { [HOST_ENV]: escapeTemplate(JSON.stringify(props.host)) } : {};
  return {
    type: 'local-exec' as const,
    command: COMMAND(props.kind, op),
    environment: {
      HOSTSTORE_CLI: escapeTemplate(String(props.cli)),
      HOSTSTORE_SPEC: `\${jsonencode(${self})}`,
      ...where,
      ...more,
    },
    ...(op === 'delete' ? { when: 'destroy' as const } : {}),
  };
}

type Provisioner = ReturnType<typeof provisioner>;

interface CarrierConfig {
  readonly type: Carrier;
  readonly triggers: IResolvable;
  /**
   * `terraform_data`'s `input`: a change there is an update in place (no destroy, no provisioner). A map, or
   * one JSON string (`inputIsJson`).
   */
  readonly input?: IResolvable;
  readonly inputIsJson?: boolean;
  readonly provisioners: Provisioner[];
  /** Provisioners listed at synth (the manifest's names every thing its project declares). */
  readonly provisionersLater?: () => Provisioner[];
  readonly dependsOn?: CarrierResource[];
  readonly lifecycle?: TerraformResource['lifecycle'];
  /** A lifecycle decided at synth (the manifest's preconditions, one per block storage). */
  readonly lifecycleLater?: () => TerraformResource['lifecycle'];
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
    private readonly input?: IResolvable;
    private readonly inputIsJson: boolean;
    private readonly attribute: string;

    constructor(scope: IConstruct, id: string, config: CarrierConfig) {
      super(scope as never, id, {
        terraformResourceType: config.type,
        ...(config.type === 'terraform_data' ? { terraformGeneratorMetadata: { providerName: 'terraform' } } : {}),
        dependsOn: config.dependsOn as never,
        provisioners: config.provisioners.length ? config.provisioners : undefined,
        lifecycle: config.lifecycle,
      });
      this.triggers = config.triggers;
      this.input = config.input;
      this.inputIsJson = config.inputIsJson === true;
      this.attribute = config.type === 'terraform_data' ? 'triggers_replace' : 'triggers';
      // Both synth paths (JSON and HCL) read these fields when they render: a getter lists them then.
      const { provisionersLater, lifecycleLater } = config;
      if (provisionersLater)
        Object.defineProperty(this, 'provisioners', { get: provisionersLater, set: () => undefined });
      if (lifecycleLater) Object.defineProperty(this, 'lifecycle', { get: lifecycleLater, set: () => undefined });
    }

    protected synthesizeAttributes(): Record<string, unknown> {
      return { [this.attribute]: this.triggers, ...(this.input ? { input: this.input } : {}) };
    }

    protected synthesizeHclAttributes(): Record<string, unknown> {
      const map = (value: IResolvable) => ({ value, isBlock: false, type: 'map', storageClassType: 'stringMap' });
      const text = (value: IResolvable) => ({ value, isBlock: false, type: 'simple', storageClassType: 'string' });
      const input = this.input ? { input: this.inputIsJson ? text(this.input) : map(this.input) } : {};
      return { [this.attribute]: map(this.triggers), ...input };
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
 * `expressions` are added unescaped: Terraform expressions the renderer wrote, no user value in them.
 */
function lazyTriggers(read: () => Record<string, string>, expressions?: () => Record<string, string>): IResolvable {
  // Not Lazy.anyValue: the framework appends a token's creation stack to its error; this error is one line.
  return {
    creationStack: [],
    resolve: (context: IResolveContext) =>
      context.preparing ? {} : { ...escapeAll(read()), ...(expressions ? expressions() : {}) },
    toString: () => '<hoststore triggers>',
  };
}

/**
 * A spec as one JSON string, read at synth like `lazyTriggers`: Terraform stores a string without the
 * per-key type an object carries (its state, written whole after every resource, is a third smaller, and a
 * no-op plan decodes less), and still shows a change key by key (`jsonencode({ ~ size_gb = "10" -> "20" })`).
 */
function lazyJson(read: () => Record<string, string>): IResolvable {
  return {
    creationStack: [],
    resolve: (context: IResolveContext) => (context.preparing ? '' : escapeTemplate(JSON.stringify(read()))),
    toString: () => '<hoststore spec>',
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
 * One thing: a carrier at `<construct>/identity[-n]` whose triggers are the identity (a change replaces it,
 * and its destroy-time provisioner deletes the old thing) and, for `terraform_data`, whose `input` is the full
 * spec (a change there is an update in place: nothing runs). The project's manifest converges it.
 * `null_resource` has no `input`, so it keeps a config carrier beside it, with no provisioner, whose
 * triggers are the full spec.
 */
export function renderThing(scope: IConstruct, suffix: string, props: ThingCarrierProps): ThingCarrier {
  const framework = frameworkOf(scope);
  const Carrier = carrierClass(framework);
  if (props.carrier === 'null_resource') requireNullProvider(scope);
  const full = props.carrier === 'terraform_data';
  const identity = new Carrier(scope, `identity${suffix}`, {
    type: props.carrier,
    triggers: lazyTriggers(props.identity),
    ...(full ? { input: lazyJson(props.spec), inputIsJson: true } : {}),
    // No provisioner: the manifest converges it, and retires it when nothing declares it any more.
    provisioners: [],
    dependsOn: props.dependsOn,
  });
  // null_resource keeps the spec in a config carrier beside it (a change replaces only that one).
  if (!full)
    new Carrier(scope, `config${suffix}`, {
      type: props.carrier,
      triggers: lazyTriggers(props.spec),
      provisioners: [],
      dependsOn: [identity, ...(props.dependsOn ?? [])],
    });
  return { resource: identity, spec: props.spec };
}

/** What a project's manifest converges: one thing, where its spec is, and what fails the plan while it is unfinished. */
export interface ManifestThing {
  /** Construct path of the thing's construct (a non-shared volume's replicas share it). */
  readonly address: string;
  readonly kind: ThingKind;
  readonly thing: ThingCarrier;
  /**
   * A file whose presence fails Terraform's plan (and apply) with `message`, checked even when nothing
   * changed (an interrupted grow's marker).
   */
  readonly failPlanIfExists?: { readonly file: string; readonly message: string };
}

export interface RetirementCarrierProps {
  readonly carrier: Carrier;
  readonly cli: string;
  readonly host?: HostConnection;
  /** What names the project (`root`, `project`, `stack`, `host` when remote), read at synth. */
  readonly identity: () => Record<string, string>;
}

/**
 * The project's retirement, at `<project>/retirement`: a carrier whose triggers name the project only, so it
 * is destroyed only with the stack (`cdktf destroy`) or when the project's root, name or stack changes, and
 * whose destroy-time provisioner (`handle project delete`) then retires everything the stack made in the old
 * project, by removal policy, in one process. It has no create-time provisioner, so it is never tainted
 * (Terraform runs no destroy-time provisioner of a tainted or a deposed object). The project's manifest
 * waits for it: a moved project is retired before the new one converges.
 */
export function renderRetirementCarrier(scope: IConstruct, props: RetirementCarrierProps): CarrierResource {
  const framework = frameworkOf(scope);
  if (props.carrier === 'null_resource') requireNullProvider(scope);
  const now = () => {
    const { root, project } = props.identity();
    return { root, project };
  };
  return new (carrierClass(framework))(scope, 'retirement', {
    type: props.carrier,
    triggers: lazyTriggers(() => ({ ...props.identity(), storage: '', mounts: '', policies: '' })),
    provisioners: [provisioner({ ...props, kind: 'project' }, 'delete', { [PROJECT_NOW_ENV]: lazyJson(now) })],
  });
}

export interface ManifestCarrierProps {
  /** The project's retirement carrier, which the manifest waits for. */
  readonly retirement: CarrierResource;
  readonly carrier: Carrier;
  readonly cli: string;
  /** A remote project's host (HOSTSTORE_HOST of its converge). */
  readonly host?: HostConnection;
  /** The manifest's own fields (what the project declares), read at synth. */
  readonly spec: () => Record<string, string>;
  /** Everything the project declares, listed at synth, storage first, then mounts, then policies. */
  readonly things: () => ManifestThing[];
}

/**
 * One precondition for every grow marker of the project (one per storage cost Terraform ~5 ms of CPU each,
 * at every plan): it fails while any marker exists, with the message of each storage that has one.
 * Terraform requires a condition to refer to some object; it refers to `terraform.workspace` (never empty:
 * always false).
 */
function growPreconditions(things: readonly ManifestThing[]) {
  const checks = things.flatMap(({ failPlanIfExists: check }) => (check ? [check] : []));
  if (checks.length === 0) return undefined;
  const literal = (value: string) => escapeTemplate(JSON.stringify(value));
  const pairs = `[${checks.map((c) => `[${literal(c.file)}, ${literal(c.message)}]`).join(', ')}]`;
  return {
    precondition: [
      {
        condition: `\${length([for c in ${pairs} : c if fileexists(c[0])]) == 0 || terraform.workspace == ""}`,
        errorMessage: `\${join(" ", [for c in ${pairs} : c[1] if fileexists(c[0])])}`,
      },
    ],
  };
}

/**
 * The project's manifest, at `<project>/manifest`: it converges the whole project in one process. Its
 * triggers are what the project declares plus `specs`, a digest of every thing's full spec, so any change
 * anywhere replaces it and its create-time provisioner (`handle project converge`) runs the engine once;
 * each thing's spec reaches it in its own variable, `HOSTSTORE_SPEC_<n>` (Linux caps one environment
 * string at 128 KiB), written out at synth rather than as a reference Terraform evaluates.
 *
 * It waits for no thing's carrier, so Terraform runs the converge while it records them (a deploy of 50
 * volumes from nothing took 1.67x `hoststore apply` so, 1.96x converging last), and no thing's carrier has
 * a provisioner: a renamed, moved or swapped thing replaces its carrier, and the converge, which sees
 * everything the code declares, keeps what another construct declares now (two volumes that swap names)
 * and retires the rest. It waits for the project's retirement carrier only (see renderRetirementCarrier).
 */
export function renderManifestCarrier(scope: IConstruct, props: ManifestCarrierProps): CarrierResource {
  const framework = frameworkOf(scope);
  if (props.carrier === 'null_resource') requireNullProvider(scope);
  const specs = () => props.things().map((t) => t.thing.spec());
  // Each entry is read when the stack is resolved, as the triggers are (not in the framework's preparing pass).
  const specEntries = () =>
    Object.fromEntries(
      props.things().map((t, i): [string, IResolvable] => [
        `${SPEC_VAR_PREFIX}${i + 1}`,
        {
          creationStack: [],
          resolve: (context: IResolveContext) =>
            context.preparing ? '' : specEntryLiteral(t.address, t.kind, t.thing.spec()),
          toString: () => '<hoststore spec entry>',
        },
      ]),
    );
  return new (carrierClass(framework))(scope, 'manifest', {
    type: props.carrier,
    triggers: lazyTriggers(props.spec, () => ({ specs: specsDigest(specs()) })),
    provisioners: [],
    provisionersLater: () => [provisioner({ ...props, kind: 'project' }, 'converge', specEntries())],
    dependsOn: [props.retirement],
    lifecycleLater: () => growPreconditions(props.things()),
  });
}

export interface TerraformDataConfig {
  readonly triggersReplace: Record<string, string>;
  readonly input?: Record<string, string>;
  readonly provisioners?: Provisioner[];
  readonly dependsOn?: CarrierResource[];
}

/** A `terraform_data` with fixed triggers, made with the stack's framework copy. */
export function makeTerraformData(scope: IConstruct, id: string, config: TerraformDataConfig): CarrierResource {
  const framework = frameworkOf(scope);
  return new (carrierClass(framework))(scope, id, {
    type: 'terraform_data',
    triggers: lazyTriggers(() => config.triggersReplace),
    ...(config.input ? { input: lazyTriggers(() => config.input!) } : {}),
    provisioners: config.provisioners ?? [],
    dependsOn: config.dependsOn,
  });
}
