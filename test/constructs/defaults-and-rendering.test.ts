/** Defaults, and the Terraform the constructs render: one carrier per thing, the manifest, provisioners, outputs. */
import * as path from 'node:path';
import { App, TerraformStack, Testing } from 'cdktf';
import { Disk, Mount, SnapshotPolicy, StorageProject, Volume } from '../../src/index.js';
import { escapeTemplate } from '../../src/validation.js';
import { TerraformDataCarrier } from '../helpers/terraform-data-carrier.js';
import { Construct } from 'constructs';
import { byPath, synth } from './synth-helpers.js';
import { inputOf } from '../helpers/carrier-input.js';

/** Resources by logical id without its hash suffix. */
const byType = (resources: Record<string, any>): Record<string, any> =>
  Object.fromEntries(Object.entries(resources).map(([id, r]) => [id.replace(/_[0-9A-F]{8}$/, ''), r]));

test('defaults are what the README says', () => {
  const stack = new TerraformStack(Testing.app() as App, 'stack');
  const project = new StorageProject(stack, 'proj');
  const volume = new Volume(project, 'db', { sizeGb: 10 });
  const disk = new Disk(project, 'pg', { name: 'pg', sizeGb: 1 });
  const mount = new Mount(project, 'm', { storage: disk, service: 'db', mountPath: '/data' });
  const policy = new SnapshotPolicy(project, 'nightly', { storage: volume, schedule: '0 4 * * *' });
  expect(project).toMatchObject({
    name: 'proj',
    root: '/var/lib/hoststore',
    maxVolumes: 10,
    maxVolumeSizeGb: 500,
    carrier: 'terraform_data',
    stackName: 'stack',
  });
  expect(project.cli).toBe(path.resolve('dist/provider/cli.js')); // this package's CLI (jest runs from the package root)
  expect(volume).toMatchObject({
    name: 'db',
    kind: 'volume',
    shared: false,
    removalPolicy: 'retain',
    filesystem: 'ext4',
  });
  expect(disk).toMatchObject({ name: 'pg', kind: 'disk', filesystem: 'ext4', removalPolicy: 'retain' });
  expect(mount).toMatchObject({ replicas: 1, readOnly: false });
  expect(policy).toMatchObject({ retentionDays: 7, retentionCount: undefined });
  expect(
    new SnapshotPolicy(project, 'count', { storage: volume, schedule: '0 * * * *', retentionCount: 24 }).retentionDays,
  ).toBeUndefined();
  expect(SnapshotPolicy.daily(project, 'daily', { storage: volume })).toMatchObject({
    schedule: '0 4 * * *',
    retentionDays: 7,
  });
  expect(SnapshotPolicy.daily(project, 'daily2', { storage: volume, hourUtc: 23, retentionDays: 30 })).toMatchObject({
    schedule: '0 23 * * *',
    retentionDays: 30,
  });
  expect(SnapshotPolicy.hourly(project, 'hourly', { storage: volume })).toMatchObject({
    schedule: '0 * * * *',
    retentionCount: 24,
    retentionDays: undefined,
  });
  expect(new Volume(project, 'files', { type: 'directory' })).toMatchObject({
    kind: 'directory',
    shared: true,
    sizeGb: undefined,
    filesystem: undefined,
    removalPolicy: 'retain',
  });
  expect(new Disk(project, 'existing', { name: 'existing' }).sizeGb).toBeUndefined();
});

test('a storage renders one carrier: identity triggers, the full spec as input, and no provisioner', () => {
  const json = synth((p) => new Disk(p, 'pg', { name: 'pg', sizeGb: 20, filesystem: 'xfs' }));
  expect(JSON.stringify(json)).toHaveResourceWithProperties(TerraformDataCarrier, {
    triggers_replace: { kind: 'disk', root: '/var/lib/hoststore', project: 'proj', name: 'pg' },
  });
  const carriers = byPath(json);
  expect(Object.keys(carriers).sort()).toEqual([
    'stack/proj/manifest',
    'stack/proj/pg/identity',
    'stack/proj/retirement',
  ]);
  const identity = carriers['stack/proj/pg/identity'];
  // The manifest converges it and retires it: a replaced carrier (a rename) runs nothing
  expect(identity.provisioner).toBeUndefined();
  expect(inputOf(identity)).toEqual({
    kind: 'disk',
    root: '/var/lib/hoststore',
    project: 'proj',
    name: 'pg',
    stack: 'stack',
    size_gb: '20',
    filesystem: 'xfs',
    shared: 'false',
    removal_policy: 'retain',
    from_snapshot: '',
  });
  expect(identity.depends_on).toBeUndefined();
});

test('raising sizeGb changes only the input; the identity triggers stay byte for byte', () => {
  const at = (sizeGb: number) => byPath(synth((p) => new Volume(p, 'db', { sizeGb, shared: true })));
  const [small, big] = [at(10), at(20)];
  expect(big['stack/proj/db/identity'].triggers_replace).toEqual(small['stack/proj/db/identity'].triggers_replace);
  expect(big['stack/proj/db/identity'].provisioner).toEqual(small['stack/proj/db/identity'].provisioner);
  expect(inputOf(small['stack/proj/db/identity']).size_gb).toBe('10');
  expect(inputOf(big['stack/proj/db/identity']).size_gb).toBe('20');
  // The manifest's digest covers every spec, so Terraform replaces the manifest, which converges
  const digest = (json: Record<string, any>) => json['stack/proj/manifest'].triggers_replace.specs;
  expect(digest(big)).toMatch(/^[0-9a-f]{64}$/);
  expect(digest(big)).not.toBe(digest(small));
  expect(digest(at(20))).toBe(digest(big));
});

test('a non-shared volume renders one storage per replica; a shared one, one storage bound to all', () => {
  const json = byPath(
    synth((p) => {
      const own = new Volume(p, 'cache', { sizeGb: 1 });
      new Mount(p, 'cache-mount', { storage: own, service: 'web', mountPath: '/cache', replicas: 3 });
      const shared = new Volume(p, 'models', { sizeGb: 1, shared: true });
      new Mount(p, 'models-mount', {
        storage: shared,
        service: 'web',
        mountPath: '/models',
        replicas: 3,
        readOnly: true,
      });
      new Volume(p, 'lonely', { sizeGb: 1 });
    }),
  );
  expect(['1', '2', '3'].map((r) => inputOf(json[`stack/proj/cache/identity-${r}`]).name)).toEqual([
    'cache-1',
    'cache-2',
    'cache-3',
  ]);
  expect(inputOf(json['stack/proj/lonely/identity-1']).name).toBe('lonely-1');
  expect(inputOf(json['stack/proj/models/identity']).name).toBe('models');
  expect(inputOf(json['stack/proj/models-mount/identity-3'])).toMatchObject({
    storage: 'models',
    replica: '3',
    read_only: 'true',
    host_path: '/var/lib/hoststore/projects/proj/services/web/3/models',
  });
  expect(inputOf(json['stack/proj/cache-mount/identity-2'])).toMatchObject({ storage: 'cache-2', replica: '2' });
  // Created after the storage it mounts, destroyed (unmounted) before it
  expect(json['stack/proj/cache-mount/identity-2'].depends_on).toEqual([
    expect.stringMatching(/^terraform_data\.proj_cache_identity-2_/),
  ]);
});

test('Mount host paths are an attribute and a Terraform output', () => {
  const stack = new TerraformStack(Testing.app() as App, 'stack');
  const project = new StorageProject(stack, 'proj', { root: '/srv/hs' });
  const v = new Volume(project, 'uploads', { type: 'directory' });
  const mount = new Mount(project, 'm', { storage: v, service: 'web', mountPath: '/app/uploads', replicas: 2 });
  expect(mount.hostPaths).toEqual([
    '/srv/hs/projects/proj/services/web/1/app/uploads',
    '/srv/hs/projects/proj/services/web/2/app/uploads',
  ]);
  const json = JSON.parse(Testing.synth(stack, true));
  // Stable names (<project>_<construct path>_<what>), not cdktf's hashed ids: users' scripts read them.
  expect(mount.hostPathsOutput.friendlyUniqueId).toBe('proj_m_host_paths');
  expect(json.output.proj_m_host_paths.value).toEqual(mount.hostPaths);
  expect(json.output.proj_uploads_storage.value).toEqual({
    host_paths: mount.hostPaths,
    image_paths: [],
    size_gb: null,
  });
});

test('the manifest lists everything the project declares, converges every thing, and waits for no carrier', () => {
  const json = byPath(
    synth((p) => {
      const d = new Disk(p, 'pg', { name: 'pg', sizeGb: 1 });
      new Mount(p, 'm', { storage: d, service: 'db', mountPath: '/data' });
      const v = new Volume(p, 'db', { sizeGb: 1, shared: true });
      new SnapshotPolicy(p, 'nightly', { storage: v, schedule: '0 4 * * *' });
    }),
  );
  const manifest = json['stack/proj/manifest'];
  const project = { root: '/var/lib/hoststore', project: 'proj', stack: 'stack' };
  expect(manifest.triggers_replace).toEqual({
    ...project,
    storage: 'disk:pg,volume:db',
    mounts: 'db/1:/data',
    policies: 'nightly:db',
    specs: expect.stringMatching(/^[0-9a-f]{64}$/),
  });
  const exec = manifest.provisioner[0]['local-exec'];
  expect(exec.command).toBe('"$HOSTSTORE_CLI" handle project converge');
  expect(exec.when).toBeUndefined();
  expect(Object.keys(exec.environment)).toEqual([
    'HOSTSTORE_CLI',
    'HOSTSTORE_SPEC',
    'HOSTSTORE_SPEC_1',
    'HOSTSTORE_SPEC_2',
    'HOSTSTORE_SPEC_3',
    'HOSTSTORE_SPEC_4',
  ]);
  expect(exec.environment.HOSTSTORE_SPEC).toBe('${jsonencode(self.triggers_replace)}');
  // Each thing's spec is written out, exactly the input its carrier shows
  const entries = [1, 2, 3, 4].map((n) => JSON.parse(exec.environment[`HOSTSTORE_SPEC_${n}`]));
  expect(entries.map((e) => [e.address, e.kind])).toEqual([
    ['stack/proj/pg', 'storage'],
    ['stack/proj/db', 'storage'],
    ['stack/proj/m', 'mount'],
    ['stack/proj/nightly', 'snapshot-policy'],
  ]);
  expect(entries[2].spec).toEqual(inputOf(json['stack/proj/m/identity-1']));
  expect(entries[0].spec).toEqual(inputOf(json['stack/proj/pg/identity']));
  // It waits for no thing's carrier: Terraform runs the converge while it records them; only for the retirement
  expect(manifest.depends_on).toEqual([expect.stringMatching(/^terraform_data\.proj_retirement_[0-9A-F]{8}$/)]);
  // The retirement: the project's identity, and at destroy, `handle project delete` with where the code puts it now
  const retirement = json['stack/proj/retirement'];
  expect(retirement.triggers_replace).toEqual({ ...project, storage: '', mounts: '', policies: '' });
  expect(retirement.provisioner).toEqual([
    {
      'local-exec': {
        command: '"$HOSTSTORE_CLI" handle project delete',
        when: 'destroy',
        environment: {
          HOSTSTORE_CLI: '/opt/hoststore/cli.js',
          HOSTSTORE_SPEC: '${jsonencode(self.triggers_replace)}',
          HOSTSTORE_PROJECT_NOW: '{"root":"/var/lib/hoststore","project":"proj"}',
        },
      },
    },
  ]);
  // One precondition for every block storage: an interrupted grow fails the plan
  expect(manifest.lifecycle.precondition).toHaveLength(1);
  const [{ condition, error_message: message }] = manifest.lifecycle.precondition;
  expect(condition).toContain('"/var/lib/hoststore/disks/pg.img.growing"');
  expect(condition).toContain('"/var/lib/hoststore/projects/proj/volumes/db.img.growing"');
  expect(condition).toMatch(/\|\| terraform\.workspace == ""\}$/);
  expect(condition).not.toMatch(/terraform_data\./);
  expect(message).toContain('disk pg: a grow was interrupted');
});

test('a construct path with template sequences or quotes stays a literal in its spec entry', () => {
  const json = synth((p) => new Volume(new Construct(p, 'a"${b}%{c}'), 'db', { sizeGb: 1, shared: true }));
  const entry = byPath(json)['stack/proj/manifest'].provisioner[0]['local-exec'].environment.HOSTSTORE_SPEC_1;
  expect(entry.startsWith('{"address":"stack/proj/a\\"$${b}%%{c}/db","kind":"storage","spec":{')).toBe(true);
  expect(entry).not.toMatch(/(^|[^$])\$\{/);
});

test("carrier: 'null_resource' renders null_resource with triggers and the null provider", () => {
  const json = synth((p) => new Disk(p, 'pg', { name: 'pg', sizeGb: 1 }), { carrier: 'null_resource' });
  expect(json.resource.terraform_data).toBeUndefined();
  expect(json.terraform.required_providers.null).toMatchObject({ source: 'hashicorp/null' });
  const resources = byType(json.resource.null_resource);
  expect(Object.keys(resources).sort()).toEqual([
    'proj_manifest',
    'proj_pg_config',
    'proj_pg_identity',
    'proj_retirement',
  ]);
  for (const r of Object.values(resources)) {
    const { specs, ...rest } = r.triggers;
    expect(Object.values(rest).every((v) => typeof v === 'string')).toBe(true);
    expect(specs === undefined || typeof specs === 'string').toBe(true);
  }
  // No input on a null_resource: the config carrier holds the full spec, and runs nothing
  expect(resources.proj_pg_config.triggers).toMatchObject({ name: 'pg', size_gb: '1' });
  expect(resources.proj_pg_config.provisioner).toBeUndefined();
  expect(resources.proj_pg_identity.provisioner).toBeUndefined();
  expect(resources.proj_retirement.provisioner[0]['local-exec'].environment.HOSTSTORE_SPEC).toBe(
    '${jsonencode(self.triggers)}',
  );
  const env = resources.proj_manifest.provisioner[0]['local-exec'].environment;
  expect(env.HOSTSTORE_SPEC).toBe('${jsonencode(self.triggers)}');
  expect(JSON.parse(env.HOSTSTORE_SPEC_1).spec).toEqual(resources.proj_pg_config.triggers);
  expect(resources.proj_manifest.triggers.specs).toMatch(/^[0-9a-f]{64}$/);
  expect(resources.proj_manifest.depends_on).toEqual([
    expect.stringMatching(/^null_resource\.proj_retirement_[0-9A-F]{8}$/),
  ]);
});

test('template sequences in values are escaped; every trigger value is a string', () => {
  expect(escapeTemplate('a ${b} %{c}')).toBe('a $${b} %%{c}');
  const json = synth((p) => new Volume(p, 'db', { sizeGb: 3, shared: true }), { cli: '/opt/${weird}/cli.js' });
  for (const r of Object.values(json.resource.terraform_data) as any[]) {
    for (const v of Object.values(r.triggers_replace)) expect(typeof v).toBe('string');
    if (r.input !== undefined) for (const v of Object.values(inputOf(r))) expect(typeof v).toBe('string');
    for (const p of r.provisioner ?? [])
      expect(p['local-exec'].environment.HOSTSTORE_CLI).toBe('/opt/$${weird}/cli.js');
  }
});
