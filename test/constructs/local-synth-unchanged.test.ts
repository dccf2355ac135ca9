/**
 * Upgrading replaces nothing but the manifest: a project without `host` renders every carrier with the
 * identity (triggers, destroy-time provisioner, dependencies) and the outputs it had before remote hosts
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
 * The destroy-time provisioners as they were before HOSTSTORE_DECLARED (provisioners are not in the state:
 * adding it replaces nothing), which must be the carrier's own identity, as the code declares it.
 */
function asBefore(carrier: any) {
  return carrier.provisioner?.map((p: any) => {
    const { HOSTSTORE_DECLARED: declared, ...environment } = p['local-exec'].environment;
    if (declared !== undefined) expect(JSON.parse(declared)).toEqual(carrier.triggers_replace ?? carrier.triggers);
    return { 'local-exec': { ...p['local-exec'], environment } };
  });
}

/** What an upgrade keeps: every carrier but the manifest as Terraform compares it, the spec as an object. */
function kept(text: string) {
  const json = JSON.parse(text);
  const carriers: Record<string, unknown> = {};
  for (const [type, byId] of Object.entries(json.resource as Record<string, Record<string, any>>))
    for (const [id, carrier] of Object.entries(byId)) {
      if (/_manifest(_[0-9A-F]{8})?$/.test(id)) {
        carriers[`${type}.${id}`] = 'manifest';
        continue;
      }
      const input = typeof carrier.input === 'string' ? JSON.parse(carrier.input) : carrier.input;
      carriers[`${type}.${id}`] = { ...carrier, ...(input ? { input } : {}), provisioner: asBefore(carrier) };
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
