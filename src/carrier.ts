/**
 * Renders one stateful thing as two carrier resources, identity and config (see src/contract.md), so a
 * change that can be made in place never makes Terraform run the thing's delete.
 */
import { Construct } from 'constructs';
import { TerraformStack, type ITerraformDependable, type TerraformResource } from 'cdktf';
import { TerraformDataCarrier } from './terraform-data-carrier.js';
import { resource as nullResource, provider as nullProvider } from '@cdktf/provider-null';
import type { Carrier } from './schema.js';
import { escapeAll, escapeTemplate } from './validation.js';
import { handlerCommand, type HandlerOp } from './kinds.js';

export type HandlerKind = 'storage' | 'mount' | 'snapshot-policy' | 'project';

export interface CarrierPairProps {
  readonly carrier: Carrier;
  readonly kind: HandlerKind;
  /** The command the provisioners run: an absolute path, or a name looked up on PATH. */
  readonly cli: string;
  readonly identity: Record<string, string>;
  /** The full spec (identity fields included). */
  readonly spec: Record<string, string>;
  readonly dependsOn?: ITerraformDependable[];
  /**
   * A file whose presence fails Terraform's plan (and apply) with `message`: the config carrier's
   * precondition, checked even when nothing changed (an interrupted grow's marker).
   */
  readonly failPlanIfExists?: { readonly file: string; readonly message: string };
}

export interface CarrierPair {
  readonly identity: TerraformResource;
  readonly config: TerraformResource;
}

const COMMAND = (kind: HandlerKind, op: HandlerOp) => handlerCommand(kind, op);

function provisioner(props: CarrierPairProps, op: 'converge' | 'delete', stack?: string) {
  const self = props.carrier === 'terraform_data' ? 'self.triggers_replace' : 'self.triggers';
  // A delete says which stack it runs for (outside the triggers, so adding it replaces nothing): storage
  // another stack owns is only borrowed, and its delete releases the borrower's mounts, nothing more.
  const who: Record<string, string> = op === 'delete' && stack !== undefined ? { HOSTSTORE_STACK: escapeTemplate(stack) } : {};
  return {
    type: 'local-exec' as const,
    command: COMMAND(props.kind, op),
    environment: { HOSTSTORE_CLI: escapeTemplate(props.cli), HOSTSTORE_SPEC: `\${jsonencode(${self})}`, ...who },
    ...(op === 'delete' ? { when: 'destroy' as const } : {}),
  };
}

function ensureNullProvider(scope: Construct): void {
  const stack = TerraformStack.of(scope);
  if (!stack.node.tryFindChild('hoststore-null-provider')) new nullProvider.NullProvider(stack, 'hoststore-null-provider', {});
}

/**
 * The config carrier's precondition for `failPlanIfExists`. Terraform requires a condition to refer to
 * some object: "or the identity does not exist" is also true (nothing to have been interrupted).
 */
function failPlanIfExists(props: CarrierPairProps, identityAddress: string) {
  if (!props.failPlanIfExists) return undefined;
  const file = escapeTemplate(JSON.stringify(props.failPlanIfExists.file));
  return { precondition: [{ condition: `\${!fileexists(${file}) || ${identityAddress} == null}`, errorMessage: escapeTemplate(props.failPlanIfExists.message) }] };
}

export function renderCarrierPair(scope: Construct, suffix: string, props: CarrierPairProps): CarrierPair {
  const identityTriggers = escapeAll(props.identity);
  const specTriggers = escapeAll(props.spec);
  const stack = TerraformStack.of(scope).node.id;
  if (props.carrier === 'null_resource') {
    ensureNullProvider(scope);
    const identity = new nullResource.Resource(scope, `identity${suffix}`, {
      triggers: identityTriggers, provisioners: [provisioner(props, 'delete', stack)], dependsOn: props.dependsOn,
    });
    const lifecycle = failPlanIfExists(props, `null_resource.${identity.friendlyUniqueId}`);
    const config = new nullResource.Resource(scope, `config${suffix}`, {
      triggers: specTriggers, provisioners: [provisioner(props, 'converge')], dependsOn: [identity, ...(props.dependsOn ?? [])], lifecycle,
    });
    return { identity, config };
  }
  const identity = new TerraformDataCarrier(scope, `identity${suffix}`, {
    triggersReplace: identityTriggers, provisioners: [provisioner(props, 'delete', stack)], dependsOn: props.dependsOn,
  });
  const lifecycle = failPlanIfExists(props, `terraform_data.${identity.friendlyUniqueId}`);
  const config = new TerraformDataCarrier(scope, `config${suffix}`, {
    triggersReplace: specTriggers, provisioners: [provisioner(props, 'converge')], dependsOn: [identity, ...(props.dependsOn ?? [])], lifecycle,
  });
  return { identity, config };
}

/** The project's manifest: one config-only carrier, converged after everything else it declares. */
export function renderManifestCarrier(scope: Construct, props: Omit<CarrierPairProps, 'identity' | 'kind'>): TerraformResource {
  const full: CarrierPairProps = { ...props, kind: 'project', identity: {} };
  const triggers = escapeAll(props.spec);
  if (props.carrier === 'null_resource') {
    ensureNullProvider(scope);
    return new nullResource.Resource(scope, 'manifest', { triggers, provisioners: [provisioner(full, 'converge')], dependsOn: props.dependsOn });
  }
  return new TerraformDataCarrier(scope, 'manifest', { triggersReplace: triggers, provisioners: [provisioner(full, 'converge')], dependsOn: props.dependsOn });
}
