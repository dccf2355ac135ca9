/** The default cdktf app (cdktf.json): both example stacks, rooted at $HOSTSTORE_ROOT. */
import { App } from 'cdktf';
import { webAppStack } from './web-app.js';
import { postgresStack } from './postgres.js';

const app = new App();
const root = process.env.HOSTSTORE_ROOT || undefined;
webAppStack(app, 'web-app', root);
postgresStack(app, 'postgres', root);
app.synth();
