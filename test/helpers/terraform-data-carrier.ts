/**
 * A plain `terraform_data` resource of the stack's framework copy, for code that makes carriers directly
 * (the synth bench), and for jest matchers that take a resource type (`tfResourceType`).
 */
import type { IConstruct } from 'constructs';
import { makeTerraformData, type CarrierResource, type TerraformDataConfig } from '../../src/carrier.js';

export type { TerraformDataConfig as TerraformDataCarrierConfig } from '../../src/carrier.js';

// The class only names the framework's own resource for `new` and the jest matchers; the interface gives it its type.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class TerraformDataCarrier {
  static readonly tfResourceType = 'terraform_data';

  /** Returns the framework's resource itself (a class of the stack's own copy, which this module cannot extend statically). */
  constructor(scope: IConstruct, id: string, config: TerraformDataConfig) {
    return makeTerraformData(scope, id, config) as unknown as TerraformDataCarrier;
  }
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface TerraformDataCarrier extends CarrierResource {}
