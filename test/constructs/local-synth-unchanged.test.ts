/**
 * Upgrading replaces nothing but the manifest: a project without `host` renders every carrier with the
 * identity (triggers, dependencies) and the outputs it had before remote hosts
 * existed (issue 12: no `host` key, no HOSTSTORE_HOST), and the same spec, since the speed work one JSON
 * string (an update in place). The fixtures are the synth output of main before issue 12 (the package root
 * written as <package>), as .txt so no formatter touches their bytes.
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

/**
 * What an upgrade keeps: every carrier but the manifest as Terraform compares it (its state: triggers,
 * input, dependencies), the spec as an object.
 */
function kept(text: string) {
  const json = JSON.parse(text);
  const carriers: Record<string, unknown> = {};
  for (const [type, byId] of Object.entries(json.resource as Record<string, Record<string, any>>))
    for (const [id, carrier] of Object.entries(byId)) {
      if (/_manifest(_[0-9A-F]{8})?$/.test(id)) {
        carriers[`${type}.${id}`] = 'manifest';
        continue;
      }
      // Added by an upgrade (a create that runs nothing).
      if (/_retirement(_[0-9A-F]{8})?$/.test(id)) continue;
      // Provisioners are not in the state: the things' destroy-time deletes, gone, replace nothing.
      const { provisioner: _provisioner, ...held } = carrier;
      const input = typeof held.input === 'string' ? JSON.parse(held.input) : held.input;
      carriers[`${type}.${id}`] = { ...held, ...(input ? { input } : {}) };
    }
  return { carriers, output: json.output, terraform: json.terraform };
}

const same = (text: string, name: string) => expect(kept(rendered(text))).toEqual(kept(fixture(name)));

test('the web-app example keeps every identity, spec and output', () => {
  const text = Testing.synth(webAppStack(Testing.app() as App, 'web-app', '/srv/hs'), true);
  same(text, 'web-app.local.txt');
});

test('the postgres example keeps every identity, spec and output', () => {
  const text = Testing.synth(postgresStack(Testing.app() as App, 'postgres', '/srv/hs'), true);
  same(text, 'postgres.local.txt');
});

test('a null_resource project (replicas, a policy, a disk) keeps every identity, spec and output', () => {
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
  same(Testing.synth(stack, true), 'null-resource.local.txt');
});
