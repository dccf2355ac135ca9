/**
 * A `terraform_data` resource without cdktf's per-resource Terraform version check: cdktf's own
 * DataResource runs `terraform version` once per resource at every validation (~60 ms each), which
 * made a 1,000-volume synth take minutes. The resource type has been built into Terraform since 1.4.
 */
import { Construct } from 'constructs';
import { TerraformResource, type TerraformMetaArguments } from 'cdktf';

export interface TerraformDataCarrierConfig extends TerraformMetaArguments {
  readonly triggersReplace: Record<string, string>;
}

export class TerraformDataCarrier extends TerraformResource {
  static readonly tfResourceType = 'terraform_data';
  private readonly triggers: Record<string, string>;

  constructor(scope: Construct, id: string, config: TerraformDataCarrierConfig) {
    super(scope, id, {
      terraformResourceType: 'terraform_data',
      terraformGeneratorMetadata: { providerName: 'terraform' },
      dependsOn: config.dependsOn,
      provisioners: config.provisioners,
      lifecycle: config.lifecycle,
    });
    this.triggers = config.triggersReplace;
  }

  protected synthesizeAttributes(): Record<string, unknown> {
    return { triggers_replace: { ...this.triggers } };
  }

  protected synthesizeHclAttributes(): Record<string, unknown> {
    return { triggers_replace: { value: { ...this.triggers }, isBlock: false, type: 'map', storageClassType: 'stringMap' } };
  }
}
