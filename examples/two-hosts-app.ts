/**
 * The two-host example as a cdktf app of its own (`cdktf deploy --app 'node dist/examples/two-hosts-app.js'`).
 * HOSTSTORE_EXAMPLE_HOSTS, a JSON array of two hosts ({address, user?, port?, identityFile?, knownHostsFile?,
 * root?}), points it at real hosts; without it the stack names storage-1.internal and storage-2.internal.
 */
import * as path from 'node:path';
import { App, LocalBackend } from 'cdktf';
import { EXAMPLE_HOSTS, twoHostsStack, type ExampleHost } from './two-hosts.js';

/** The hosts of HOSTSTORE_EXAMPLE_HOSTS; a value that is not two of them ends the app with one line saying so. */
function hostsFromEnvironment(): readonly [ExampleHost, ExampleHost] {
  const text = process.env.HOSTSTORE_EXAMPLE_HOSTS;
  if (!text) return EXAMPLE_HOSTS;
  let hosts: unknown;
  try {
    hosts = JSON.parse(text);
  } catch {
    hosts = undefined;
  }
  const isHost = (h: unknown) => typeof h === 'object' && h !== null && typeof (h as ExampleHost).address === 'string';
  if (!Array.isArray(hosts) || hosts.length !== 2 || !hosts.every(isHost)) {
    process.stderr.write(
      `HOSTSTORE_EXAMPLE_HOSTS must be a JSON array of two hosts, each {"address": ..., "identityFile"?: ..., ` +
        `"knownHostsFile"?: ..., "port"?: ..., "user"?: ..., "root"?: ...} (got ${JSON.stringify(text)})\n`,
    );
    process.exit(2);
  }
  return hosts as [ExampleHost, ExampleHost];
}

const hosts = hostsFromEnvironment();
const app = new App();
const stack = twoHostsStack(app, 'two-hosts', hosts);
// State beside the app unless told otherwise; in CI use a backend that outlives the runner (README).
const stateDir = process.env.HOSTSTORE_EXAMPLE_STATE_DIR;
if (stateDir) new LocalBackend(stack, { path: path.join(stateDir, 'terraform.two-hosts.tfstate') });
app.synth();
