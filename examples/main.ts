/** The default cdktf app (cdktf.json): both example stacks, rooted at $HOSTSTORE_ROOT. */
import * as path from 'node:path';
import { App, LocalBackend } from 'cdktf';
import { DEFAULT_ROOT } from '../src/index.js';
import { webAppStack } from './web-app.js';
import { postgresStack } from './postgres.js';

const app = new App();
const root = process.env.HOSTSTORE_ROOT || undefined;
// The Terraform state of `deploy-example:terraform` lives next to the root it describes, not in the
// repository (cdktf's default is terraform.<stack>.tfstate in the working directory).
const stateDir = process.env.HOSTSTORE_EXAMPLE_STATE_DIR || `${root ?? DEFAULT_ROOT}-terraform-state`;
for (const stack of [webAppStack(app, 'web-app', root), postgresStack(app, 'postgres', root)]) {
  new LocalBackend(stack, { path: path.join(stateDir, `terraform.${stack.node.id}.tfstate`) });
}
app.synth();
