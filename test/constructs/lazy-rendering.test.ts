/**
 * Carriers exist from the constructors on, whatever synth path runs (issue 10 §1), read the props as they
 * are at synth (a user's Aspect), and refuse what synth cannot know (tokens, issue 10 §4).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Aspects, TerraformStack, TerraformVariable, Testing, type IAspect } from 'cdktf';
import { Construct, type IConstruct } from 'constructs';
import { Disk, Mount, SnapshotPolicy, StorageBase, StorageProject, Volume } from '../../src/index.js';
import { byPath, errors, makeStack } from './synth-helpers.js';
import { inputOf } from '../helpers/carrier-input.js';

/** The stack as Terraform JSON, resolved without running any Aspect or validation. */
const resolved = (stack: TerraformStack): any => JSON.parse(JSON.stringify(stack.toTerraform()));

describe('a stack of a framework copy the library cannot use fails at the StorageProject, in one line', () => {
  /** A stack as another copy makes it: the brand and the type information, not this copy's class. */
  const foreignStack = (fqn: string, version: string) => {
    class ForeignStack extends Construct {
      constructor(scope: Construct, id: string) {
        super(scope, id);
        Object.defineProperty(this, Symbol.for('cdktf/TerraformStack'), { value: true });
      }
    }
    Object.defineProperty(ForeignStack, Symbol.for('jsii.rtti'), { value: { fqn, version } });
    return new ForeignStack(new Construct(undefined as never, ''), 'stack');
  };
  test.each([
    [
      'cdktf.TerraformStack',
      '0.20.12',
      /^\[stack\] cdktf-hoststore cannot add its resources to this stack: the stack was made by cdktf 0\.20\.12 \(path unknown\), but cdktf-hoststore loads cdktf 0\.21\.\d+ \(\/.*\/node_modules\/cdktf\), another copy whose resources that stack would never synthesize\. Make them one copy: run `npm ls cdktf constructs`, then `npm dedupe`, or install cdktf in the app itself \(cdktf-hoststore takes it as a peer dependency: cdktf >=0\.20\.0 <0\.22\.0\)$/,
    ],
    [
      'cdktn.TerraformStack',
      '0.24.0',
      /^\[stack\] cdktf-hoststore cannot add its resources to this stack: the stack was made by cdktn 0\.24\.0 \(path unknown\), but cdktf-hoststore finds no cdktn where it is installed \(\/.*\)\. Make them one copy: run `npm ls cdktn constructs`, then `npm dedupe`, or install cdktn in the app itself \(cdktf-hoststore takes it as a peer dependency: cdktn >=0\.24\.0 <0\.25\.0\)$/,
    ],
  ])('%s %s', (fqn, version, line) => {
    expect(() => new StorageProject(foreignStack(fqn, version), 'proj')).toThrow(line);
  });
});

test('carriers exist without any Aspect run (stack.toTerraform(), no app.synth)', () => {
  const stack = makeStack((p) => {
    const v = new Volume(p, 'cache', { sizeGb: 1 });
    new Mount(p, 'm', { storage: v, service: 'web', mountPath: '/c', replicas: 2 });
    new SnapshotPolicy(p, 'nightly', { storage: v, schedule: '0 4 * * *' });
  });
  const carriers = byPath(resolved(stack));
  expect(Object.keys(carriers).sort()).toEqual([
    'stack/proj/cache/identity-1',
    'stack/proj/cache/identity-2',
    'stack/proj/m/identity-1',
    'stack/proj/m/identity-2',
    'stack/proj/manifest',
    'stack/proj/nightly/identity-1',
    'stack/proj/nightly/identity-2',
    'stack/proj/retirement',
  ]);
  const converge = carriers['stack/proj/manifest'].provisioner[0]['local-exec'].environment;
  expect(Object.keys(converge).filter((k) => /^HOSTSTORE_SPEC_[0-9]+$/.test(k))).toHaveLength(6);
});

test('Testing.synthScope and Testing.fullSynth render the carriers too', () => {
  const scoped = JSON.parse(
    Testing.synthScope((scope) => {
      new Disk(new StorageProject(scope, 'proj', { cli: 'hoststore' }), 'pg', { name: 'pg', sizeGb: 1 });
    }),
  );
  expect(Object.keys(scoped.resource.terraform_data)).toHaveLength(3);
  const stack = makeStack((p) => new Disk(p, 'pg', { name: 'pg', sizeGb: 1 }));
  const outdir = Testing.fullSynth(stack);
  const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', 'stack', 'cdk.tf.json'), 'utf8'));
  expect(Object.keys(json.resource.terraform_data)).toHaveLength(3);
});

test('a SnapshotPolicy made before the Mount sees every replica of a non-shared volume', () => {
  const carriers = byPath(
    resolved(
      makeStack((p) => {
        const v = new Volume(p, 'cache', { sizeGb: 1 });
        new SnapshotPolicy(p, 'nightly', { storage: v, schedule: '0 4 * * *' });
        new Mount(p, 'm', { storage: v, service: 'web', mountPath: '/c', replicas: 3 });
      }),
    ),
  );
  expect(['1', '2', '3'].map((r) => inputOf(carriers[`stack/proj/nightly/identity-${r}`]).storage)).toEqual([
    'cache-1',
    'cache-2',
    'cache-3',
  ]);
  expect(carriers['stack/proj/nightly/identity-3'].depends_on).toEqual([
    expect.stringMatching(/^terraform_data\.proj_cache_identity-3_/),
  ]);
  expect(carriers['stack/proj/manifest'].triggers_replace.policies).toBe(
    'nightly:cache-1,nightly:cache-2,nightly:cache-3',
  );
});

test("a user's Aspect that sets every removalPolicy is what the triggers carry", () => {
  class DestroyAll implements IAspect {
    visit(node: IConstruct): void {
      if (node instanceof StorageBase) node.removalPolicy = 'destroy';
    }
  }
  const stack = makeStack((p) => {
    new Volume(p, 'db', { sizeGb: 1, shared: true });
    new Disk(p, 'pg', { name: 'pg', sizeGb: 1 });
  });
  Aspects.of(stack).add(new DestroyAll());
  const carriers = byPath(JSON.parse(Testing.synth(stack, true)));
  expect(inputOf(carriers['stack/proj/db/identity']).removal_policy).toBe('destroy');
  expect(inputOf(carriers['stack/proj/pg/identity']).removal_policy).toBe('destroy');
});

test("an Aspect's invalid value fails validation like a prop given so", () => {
  const stack = makeStack((p) => new Volume(p, 'db', { sizeGb: 1, shared: true }));
  Aspects.of(stack).add({
    visit: (node) => {
      if (node instanceof Volume) node.sizeGb = 501;
    },
  });
  expect(() => Testing.synth(stack, true)).toThrow(
    '[stack/proj/db] `sizeGb` must be a whole number from 1 to 500 (limits.maxVolumeSizeGb) (got 501)',
  );
});

describe('an invalid project never renders silently, even when synth skips validations', () => {
  test.each([
    [
      'an invalid storage',
      (p: StorageProject) => new Volume(p, 'db', { sizeGb: 501 }),
      /^Resolution error: \[stack\/proj\/db\] cannot be rendered: `sizeGb` must be a whole number from 1 to 500/,
    ],
    [
      'an invalid Mount (no carriers of its own)',
      (p: StorageProject) => {
        const v = new Volume(p, 'v', { type: 'directory' });
        new Mount(p, 'm', { storage: v, service: 'web', mountPath: '/d', replicas: 0 });
      },
      /^Resolution error: \[stack\/proj\/m\] cannot be rendered: `replicas` must be a whole number from 1 to 100 \(got 0\)\.$/,
    ],
    [
      'a rule across constructs',
      (p: StorageProject) => {
        for (let i = 0; i < 11; i += 1) new Volume(p, `v${i}`, { sizeGb: 1, shared: true });
      },
      /^Resolution error: \[stack\/proj\] cannot be rendered: `limits.maxVolumes` allows at most 10 volumes/,
    ],
  ])('%s', (_what, build, line) => {
    const stack = makeStack(build);
    expect(() => Testing.synth(stack)).toThrow(line);
    expect(() => Testing.synth(stack)).toThrow(/^[^\n]*$/); // one line, no creation stack
  });
});

describe('props synth must know are refused as tokens (TerraformVariable)', () => {
  test('sizeGb, replicas, retentionDays, limits.maxVolumes', () => {
    const lines = errors((p, stack) => {
      const size = new TerraformVariable(stack, 'size', { type: 'number' });
      const v = new Volume(p, 'db', { sizeGb: size.numberValue });
      new Mount(p, 'm', { storage: v, service: 'web', mountPath: '/d', replicas: size.numberValue });
      new SnapshotPolicy(p, 'nightly', { storage: v, schedule: '0 4 * * *', retentionDays: size.numberValue });
    });
    expect(lines).toEqual([
      '[stack/proj/db] `sizeGb` must be a literal number at synth (got a token)',
      '[stack/proj/m] `replicas` must be a literal number at synth (got a token)',
      '[stack/proj/nightly] `retentionDays` must be a literal number at synth (got a token)',
    ]);
  });
  test('names, paths and project limits', () => {
    const stack = new TerraformStack(Testing.app() as App, 'stack');
    const text = new TerraformVariable(stack, 'text', { type: 'string' });
    const count = new TerraformVariable(stack, 'count', { type: 'number' });
    const p = new StorageProject(stack, 'proj', {
      cli: 'hoststore',
      root: `/srv/${text.stringValue}`,
      limits: { maxVolumes: count.numberValue },
    });
    const d = new Disk(p, 'd', { name: text.stringValue, sizeGb: 1 });
    new Mount(p, 'm', { storage: d, service: 'db', mountPath: text.stringValue });
    expect(() => Testing.synth(stack, true)).toThrow(
      [
        'Validation failed with the following errors:',
        '  [stack/proj] `root` must be a literal string at synth (got a token)',
        '  [stack/proj] `limits.maxVolumes` must be a literal number at synth (got a token)',
        '  [stack/proj/d] `name` must be a literal string at synth (got a token)',
        '  [stack/proj/m] `mountPath` must be a literal string at synth (got a token)',
      ].join('\n'),
    );
  });
});

describe('outputs: stable names and what a container runtime needs', () => {
  test('Volume, Disk and Mount outputs are <project>_<construct path>_<what>, their values also properties', () => {
    const stack = new TerraformStack(Testing.app() as App, 'stack');
    const p = new StorageProject(stack, 'shop', { root: '/srv/hs', cli: 'hoststore' });
    const models = new Volume(p, 'models', { sizeGb: 5 });
    const mount = new Mount(p, 'models-mount', { storage: models, service: 'web', mountPath: '/models', replicas: 2 });
    const pg = new Disk(p, 'pg', { name: 'shop-pg', sizeGb: 20, filesystem: 'xfs' });
    new Mount(new Construct(p, 'db'), 'data', { storage: pg, service: 'db', mountPath: '/var/lib/pg' });
    const files = new Volume(p, 'files', { type: 'directory' });
    const json = JSON.parse(Testing.synth(stack, true));
    const web = ['/srv/hs/projects/shop/services/web/1/models', '/srv/hs/projects/shop/services/web/2/models'];
    expect(mount.hostPaths).toEqual(web);
    expect(models.hostPaths).toEqual(web);
    expect(models.imagePaths).toEqual([
      '/srv/hs/projects/shop/volumes/models-1.img',
      '/srv/hs/projects/shop/volumes/models-2.img',
    ]);
    expect(pg.imagePaths).toEqual(['/srv/hs/disks/shop-pg.img']);
    expect(files.imagePaths).toEqual([]);
    const values = Object.fromEntries(
      Object.entries(json.output as Record<string, { value: unknown }>).map(([k, o]) => [k, o.value]),
    );
    expect(values).toEqual({
      'shop_models-mount_host_paths': web,
      shop_models_storage: { host_paths: web, image_paths: models.imagePaths, size_gb: 5 },
      shop_pg_storage: {
        host_paths: ['/srv/hs/projects/shop/services/db/1/var/lib/pg'],
        image_paths: ['/srv/hs/disks/shop-pg.img'],
        size_gb: 20,
      },
      shop_db_data_host_paths: ['/srv/hs/projects/shop/services/db/1/var/lib/pg'],
      shop_files_storage: { host_paths: [], image_paths: [], size_gb: null },
    });
    expect(mount.hostPathsOutput.friendlyUniqueId).toBe('shop_models-mount_host_paths');
    expect(models.storageOutput.friendlyUniqueId).toBe('shop_models_storage');
  });
  test('a Disk without sizeGb outputs null for its size', () => {
    const stack = makeStack((p) => new Disk(p, 'old', { name: 'old' }));
    expect(JSON.parse(Testing.synth(stack, true)).output.proj_old_storage.value).toMatchObject({ size_gb: null });
  });
  test('two outputs of one name fail synth naming both constructs', () => {
    expect(
      errors((p) => {
        new Volume(p, 'a_b', { sizeGb: 1, shared: true });
        new Volume(new Construct(p, 'a'), 'b', { sizeGb: 1, shared: true });
      }),
    ).toEqual(
      expect.arrayContaining([
        "[stack/proj/a/b] Terraform output 'proj_a_b_storage' is also made by stack/proj/a_b/storage: output names are <project>_<construct path>_<what>, so give one of the two another id (or its project another name)",
      ]),
    );
  });
});

test('app.synth() writes the carriers (the path `cdktf synth` runs)', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-synth-'));
  try {
    const app = new App({ outdir });
    const stack = new TerraformStack(app, 'stack');
    new Disk(new StorageProject(stack, 'proj', { cli: 'hoststore' }), 'pg', { name: 'pg', sizeGb: 1 });
    app.synth();
    const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', 'stack', 'cdk.tf.json'), 'utf8'));
    expect(Object.keys(json.resource.terraform_data)).toHaveLength(3);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
});
