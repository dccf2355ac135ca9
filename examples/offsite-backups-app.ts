/**
 * The off-host backup example as a cdktf app of its own (`cdktf deploy --app 'node dist/examples/offsite-backups-app.js'`).
 * HOSTSTORE_ROOT sets the root; HOSTSTORE_EXAMPLE_REPOSITORY, a JSON object {repository, passwordFile,
 * environmentFile?, options?}, the repository (default sftp:backup@backup-1.internal:/srv/hoststore);
 * HOSTSTORE_EXAMPLE_SIZE_GB the disk's size (default 20).
 */
import * as path from 'node:path';
import { App, LocalBackend } from 'cdktf';
import { offsiteBackupsStack, type OffsiteRepository } from './offsite-backups.js';

/** The repository of HOSTSTORE_EXAMPLE_REPOSITORY; a value that is not one ends the app with one line saying so. */
function repositoryFromEnvironment(): OffsiteRepository | undefined {
  const text = process.env.HOSTSTORE_EXAMPLE_REPOSITORY;
  if (!text) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const v = value as Partial<OffsiteRepository> | undefined;
  if (typeof v !== 'object' || v === null || typeof v.repository !== 'string' || typeof v.passwordFile !== 'string') {
    process.stderr.write(
      `HOSTSTORE_EXAMPLE_REPOSITORY must be a JSON object {"repository": ..., "passwordFile": ..., "environmentFile"?: ..., ` +
        `"options"?: {...}} (got ${JSON.stringify(text)})\n`,
    );
    process.exit(2);
  }
  return v as OffsiteRepository;
}

function sizeFromEnvironment(): number | undefined {
  const text = process.env.HOSTSTORE_EXAMPLE_SIZE_GB;
  if (!text) return undefined;
  if (!/^[1-9][0-9]*$/.test(text)) {
    process.stderr.write(`HOSTSTORE_EXAMPLE_SIZE_GB must be a whole number of GB (got ${JSON.stringify(text)})\n`);
    process.exit(2);
  }
  return Number(text);
}

const app = new App();
const stack = offsiteBackupsStack(app, 'offsite-backups', {
  root: process.env.HOSTSTORE_ROOT || undefined,
  repository: repositoryFromEnvironment(),
  sizeGb: sizeFromEnvironment(),
});
// State beside the app unless told otherwise; on a new host, the state of the lost one is not needed.
const stateDir = process.env.HOSTSTORE_EXAMPLE_STATE_DIR;
if (stateDir) new LocalBackend(stack, { path: path.join(stateDir, 'terraform.offsite-backups.tfstate') });
app.synth();
