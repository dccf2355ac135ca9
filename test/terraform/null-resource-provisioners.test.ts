/**
 * The null_resource carrier cannot be installed here (no registry), so its synthesized provisioners are
 * run the way Terraform's local-exec runs them: `/bin/sh -c <command>` with the environment given and
 * the expressions in it evaluated (`self.triggers`, another carrier's triggers, the manifest's digest),
 * create-time ones in dependency order, destroy-time ones in reverse.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { App, TerraformStack, Testing } from 'cdktf';
import { Disk, Mount, StorageProject, Volume } from '../../src/index.js';
import { imagePath, replicaHostPath } from '../../src/schema.js';
import { readMountTable } from '../../provider/host/mounts.js';
import { hostLoopsUnder, hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';

interface Provisioner {
  'local-exec': { command: string; environment: Record<string, string>; when?: string };
}
interface NullResource {
  triggers: Record<string, string>;
  depends_on?: string[];
  provisioner?: Provisioner[];
}

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => host.cleanup());

function synthNull(root: string): Record<string, NullResource> {
  const app = Testing.app();
  const stack = new TerraformStack(app as App, 'nullstack');
  const project = new StorageProject(stack, 'app', { root, carrier: 'null_resource' });
  const disk = new Disk(project, 'pg', { name: 'pg', sizeGb: 1, filesystem: 'xfs' });
  new Mount(project, 'pg-mount', { storage: disk, service: 'db', mountPath: '/data' });
  const shared = new Volume(project, 'models', { sizeGb: 1, shared: true });
  new Mount(project, 'models-mount', {
    storage: shared,
    service: 'web',
    mountPath: '/models',
    replicas: 2,
    readOnly: true,
  });
  const json = JSON.parse(Testing.synth(stack, true));
  expect(json.terraform.required_providers.null).toBeDefined();
  return json.resource.null_resource;
}

/** Terraform's jsonencode of a map of strings: keys sorted, no whitespace; `$${` already unescaped. */
function jsonencode(map: Record<string, string>): string {
  const sorted = Object.fromEntries(
    Object.keys(map)
      .sort()
      .map((k) => [k, map[k].replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{')]),
  );
  return JSON.stringify(sorted);
}

/** Evaluates the few expressions the renderer writes: jsonencode of a carrier's triggers, sha256 of a list of them. */
function evaluate(value: string, resources: Record<string, NullResource>, self: NullResource): string {
  const triggersOf = (ref: string) =>
    ref === 'self.triggers' ? self.triggers : resources[/^null_resource\.(.+)\.triggers$/.exec(ref)![1]].triggers;
  const digest = (refs: string) =>
    createHash('sha256')
      .update(
        `[${refs
          .split(', ')
          .map((ref) => jsonencode(triggersOf(ref)))
          .join(',')}]`,
      )
      .digest('hex');
  const evaluated = (map: Record<string, string>) =>
    Object.fromEntries(
      Object.entries(map).map(([k, v]) => {
        const sha = /^\$\{sha256\(jsonencode\(\[(.*)\]\)\)\}$/.exec(v);
        return [k, sha ? digest(sha[1]) : v];
      }),
    );
  return value.replace(/(?<!\$)\$\{jsonencode\(([^)]+)\)\}/g, (_, ref: string) =>
    jsonencode(evaluated(triggersOf(ref))),
  );
}

function order(resources: Record<string, NullResource>): string[] {
  const done: string[] = [];
  const visit = (name: string) => {
    if (done.includes(name)) return;
    for (const dep of resources[name].depends_on ?? []) visit(dep.replace(/^null_resource\./, ''));
    done.push(name);
  };
  Object.keys(resources).sort().forEach(visit);
  return done;
}

function runProvisioners(resources: Record<string, NullResource>, names: string[], when: 'create' | 'destroy'): void {
  for (const name of names) {
    for (const p of resources[name].provisioner ?? []) {
      const exec = p['local-exec'];
      if ((exec.when === 'destroy') !== (when === 'destroy')) continue;
      const environment = Object.fromEntries(
        Object.entries(exec.environment).map(([k, v]) => [k, evaluate(v, resources, resources[name])]),
      );
      const result = spawnSync('/bin/sh', ['-c', exec.command], {
        env: { ...process.env, ...environment },
        encoding: 'utf8',
      });
      if (result.status !== 0) throw new Error(`${name}: ${exec.command} failed: ${result.stderr}`);
    }
  }
}

hostTest('mkfs.xfs')('null_resource provisioners converge the host like terraform_data ones', () => {
  // GIVEN the synthesized null_resource carriers
  const resources = synthNull(host.root);
  for (const r of Object.values(resources)) {
    for (const p of r.provisioner ?? [])
      expect(p['local-exec'].environment.HOSTSTORE_SPEC).toBe('${jsonencode(self.triggers)}');
  }
  const sequence = order(resources);
  // WHEN their create-time provisioners run in dependency order
  runProvisioners(resources, sequence, 'create');
  // THEN the host has the disk and the shared volume mounted as declared
  expect(
    execFileSync('blkid', ['-p', '-o', 'value', '-s', 'TYPE', imagePath(host.root, 'disk', 'app', 'pg')], {
      encoding: 'utf8',
    }).trim(),
  ).toBe('xfs');
  const target = (service: string, replica: number, path: string) =>
    readMountTable().find((e) => e.target === replicaHostPath(host.root, 'app', service, replica, path));
  expect(target('db', 1, '/data')).toMatchObject({ fstype: 'xfs', readOnly: false });
  expect(target('web', 2, '/models')).toMatchObject({ fstype: 'ext4', readOnly: true });
  // WHEN the destroy-time provisioners run in reverse order THEN nothing stays mounted and data is retained
  runProvisioners(resources, [...sequence].reverse(), 'destroy');
  expect(readMountTable().filter((e) => e.target.startsWith(`${host.root}/`))).toEqual([]);
  expect(hostLoopsUnder(host.root)).toEqual([]);
  expect(fs.existsSync(imagePath(host.root, 'disk', 'app', 'pg'))).toBe(true);
});
