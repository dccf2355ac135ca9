/**
 * A plain `terraform_data` resource of the stack's framework copy, for code that makes carriers directly
 * (the synth bench) and for jest matchers that take a resource type (`tfResourceType`).
 */
import type { IConstruct } from 'constructs';
import { makeTerraformData, type CarrierResource, type TerraformDataConfig } from './carrier.js';

export type { TerraformDataConfig as TerraformDataCarrierConfig } from './carrier.js';

export class TerraformDataCarrier {
  static readonly tfResourceType = 'terraform_data';

  /** Returns the framework's resource itself (a class of the stack's own copy, which this module cannot extend statically). */
  constructor(scope: IConstruct, id: string, config: TerraformDataConfig) {
    return makeTerraformData(scope, id, config) as unknown as TerraformDataCarrier;
  }
}

export interface TerraformDataCarrier extends CarrierResource {}
