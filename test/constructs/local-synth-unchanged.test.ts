/**
 * A project without `host` renders exactly what it did before remote hosts existed (issue 12): no `host` key,
 * no HOSTSTORE_HOST, so upgrading replaces nothing. The fixtures are the synth output of main before issue 12
 * (the package root written as <package>), as .txt so no formatter touches their bytes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Testing } from 'cdktf';
import { webAppStack } from '../../examples/web-app.js';
import { postgresStack } from '../../examples/postgres.js';
import { makeStack } from './synth-helpers.js';
import { Disk, Mount, SnapshotPolicy, Volume } from '../../src/index.js';
import { packageRoot } from '../../src/module-context.cjs';

const fixture = (name: string) =>
  fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', name), 'utf8');
const rendered = (text: string) => `${text.split(packageRoot()).join('<package>')}\n`;

test('the web-app example synthesizes byte for byte as before', () => {
  const text = Testing.synth(webAppStack(Testing.app() as App, 'web-app', '/srv/hs'), true);
  expect(rendered(text)).toBe(fixture('web-app.local.txt'));
});

test('the postgres example synthesizes byte for byte as before', () => {
  const text = Testing.synth(postgresStack(Testing.app() as App, 'postgres', '/srv/hs'), true);
  expect(rendered(text)).toBe(fixture('postgres.local.txt'));
});

test('a null_resource project (replicas, a policy, a disk) synthesizes byte for byte as before', () => {
  const stack = makeStack(
    (p) => {
      const v = new Volume(p, 'data', { sizeGb: 3, removalPolicy: 'destroy' });
      new Mount(p, 'data-mount', { storage: v, service: 'api', mountPath: '/data', replicas: 2 });
      SnapshotPolicy.hourly(p, 'hourly', { storage: v });
      const d = new Disk(p, 'db', { name: 'proj-db', sizeGb: 2, filesystem: 'xfs' });
      new Mount(p, 'db-mount', { storage: d, service: 'db', mountPath: '/db' });
    },
    { carrier: 'null_resource' },
  );
  expect(rendered(Testing.synth(stack, true))).toBe(fixture('null-resource.local.txt'));
});
