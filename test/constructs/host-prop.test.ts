/**
 * StorageProject `host` (issue 12): each field validated with the rules of src/host-connection.ts (one line
 * each), the address in every identity and spec of a remote project, HOSTSTORE_HOST on every provisioner,
 * and nothing of it in a local project.
 */
import { App, TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { Disk, Mount, SnapshotPolicy, StorageProject, Volume, type HostProps } from '../../src/index.js';
import { byPath, errors, synth, type Build } from './synth-helpers.js';
import {
  describeZodError,
  mountIdentitySchema,
  projectManifestSchema,
  snapshotPolicyIdentitySchema,
  storageIdentitySchema,
  storageSpecSchema,
} from '../../src/schema.js';
import { inputOf } from '../helpers/carrier-input.js';

/** The manifest's HOSTSTORE_SPEC_<n> entries (none on a thing's carrier). */
const specEntries = (carrier: any): string[] =>
  Object.entries(carrier.provisioner?.[0]?.['local-exec']?.environment ?? {})
    .filter(([name]) => /^HOSTSTORE_SPEC_\d+$/.test(name))
    .map(([, value]) => value as string);

const js = <T>(value: unknown): T => value as T;
const ADDRESS_RULE =
  'must be a DNS name (letters, digits, hyphens and dots) or an IPv4 or IPv6 address, without user, port or brackets';

/** A volume mounted by a service, snapshotted nightly, and a disk: one thing of every kind. */
const everything: Build = (p) => {
  const db = new Volume(p, 'db', { sizeGb: 1 });
  new Mount(p, 'db-mount', { storage: db, service: 'web', mountPath: '/data' });
  new SnapshotPolicy(p, 'nightly', { storage: db, schedule: '0 4 * * *' });
  const pg = new Disk(p, 'pg', { name: 'proj-pg', sizeGb: 2 });
  new Mount(p, 'pg-mount', { storage: pg, service: 'db', mountPath: '/pg' });
};

const REMOTE: HostProps = {
  address: 'storage-1.internal',
  identityFile: '/ci/keys/storage',
  knownHostsFile: '/ci/known_hosts',
};

describe('host validation: one line per bad field, naming the prop, the rule and the value', () => {
  test.each([
    [{ address: 'storage 1' }, `\`host.address\` ${ADDRESS_RULE} (got "storage 1")`],
    [{ address: 'root@storage-1' }, `\`host.address\` ${ADDRESS_RULE} (got "root@storage-1")`],
    [{ address: 'storage-1:22' }, `\`host.address\` ${ADDRESS_RULE} (got "storage-1:22")`],
    [{ address: '300.1.1.1' }, `\`host.address\` ${ADDRESS_RULE} (got "300.1.1.1")`],
    [{ address: '-bad.internal' }, `\`host.address\` ${ADDRESS_RULE} (got "-bad.internal")`],
    [{ address: '' }, `\`host.address\` ${ADDRESS_RULE} (got "")`],
    [{}, `\`host.address\` ${ADDRESS_RULE} (got undefined)`],
    [
      { address: 'h', user: 'r oot' },
      '`host.user` must be a user name: a letter or _, then letters, digits, . _ or -, at most 32 characters (got "r oot")',
    ],
    [
      { address: 'h', user: '-oProxyCommand=x' },
      '`host.user` must be a user name: a letter or _, then letters, digits, . _ or -, at most 32 characters (got "-oProxyCommand=x")',
    ],
    [{ address: 'h', port: 0 }, '`host.port` must be a whole number from 1 to 65535 (got 0)'],
    [{ address: 'h', port: 65536 }, '`host.port` must be a whole number from 1 to 65535 (got 65536)'],
    [{ address: 'h', port: 22.5 }, '`host.port` must be a whole number from 1 to 65535 (got 22.5)'],
    [{ address: 'h', port: '22' }, '`host.port` must be a whole number from 1 to 65535 (got "22")'],
    [
      { address: 'h', identityFile: 'keys/storage' },
      '`host.identityFile` must be an absolute path (start with /) (got "keys/storage")',
    ],
    [
      { address: 'h', knownHostsFile: '/ci/known hosts' },
      '`host.knownHostsFile` must contain only letters, digits and . _ @ + = - between slashes (no spaces, quotes or shell characters) (got "/ci/known hosts")',
    ],
    [
      { address: 'h', knownHostsFile: '~/.ssh/known_hosts' },
      '`host.knownHostsFile` must be an absolute path (start with /) (got "~/.ssh/known_hosts")',
    ],
  ])('%j', (host, message) => {
    expect(errors(everything, { host: js(host) })).toEqual([`[stack/proj] ${message}`]);
  });

  test.each([['storage-1.internal'], ['10.0.0.7'], ['::1'], ['fd00::7'], ['localhost']])(
    'address %p is accepted',
    (address) => {
      expect(errors(everything, { host: { address } })).toEqual([]);
    },
  );

  test.each([[1], [65535]])('port %p is accepted (the bounds)', (port) => {
    expect(errors(everything, { host: { address: 'h', port } })).toEqual([]);
  });

  test('key material where the key file belongs is refused and never echoed', () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
    const lines = errors(everything, { host: { address: 'h', identityFile: key } });
    expect(lines).toEqual([
      '[stack/proj] `host.identityFile` must be the path of the key file, never the key itself (got key material, not shown)',
    ]);
  });

  test('key material does not reach a provisioner even when validations are skipped', () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
    const stack = new TerraformStack(Testing.app() as App, 'stack');
    const project = new StorageProject(stack, 'proj', { host: { address: 'h', identityFile: key } });
    everything(project, stack);
    expect(JSON.stringify(project.host)).not.toContain('b3BlbnNzaC1rZXktdjEAAAAA');
    // The manifest refuses to render for an invalid project, so no synth output holds anything of it.
    expect(() => Testing.synth(stack)).toThrow(/cannot be rendered: `host.identityFile` must be the path/);
  });

  test('a host that is not an object, and an unknown field of host, are one line each', () => {
    expect(errors(everything, { host: js('storage-1.internal') })).toEqual([
      `[stack/proj] \`host\` must be an object such as { address: 'storage-1.internal', identityFile: '/ci/keys/storage' } (got "storage-1.internal"); leave it out for this machine`,
    ]);
    expect(errors(everything, { host: js({ address: 'h', identity_file: '/k' }) })).toEqual([
      '[stack/proj] `host.identity_file` is not a prop of StorageProject `host`; known props: address, user, port, identityFile, knownHostsFile (did you mean `host.identityFile`?)',
    ]);
  });

  test('a token address is refused: synth must know which host each thing is on', () => {
    const stack = new TerraformStack(Testing.app() as App, 'stack');
    const address = new TerraformVariable(stack, 'address', { type: 'string' });
    const project = new StorageProject(stack, 'proj', { cli: '/c', host: { address: address.stringValue } });
    new Volume(project, 'db', { sizeGb: 1 });
    expect(() => Testing.synth(stack, true)).toThrow(
      /\[stack\/proj\] `host.address` must be a literal string at synth \(got a token\)/,
    );
  });
});

describe('a remote project renders its host', () => {
  test('project.host has the defaults filled; a local project has none', () => {
    const stack = new TerraformStack(Testing.app() as App, 'stack');
    expect(new StorageProject(stack, 'a', { host: { address: 'h' } }).host).toEqual({
      address: 'h',
      user: 'root',
      port: 22,
    });
    expect(new StorageProject(stack, 'b', { host: { ...REMOTE, user: 'deploy', port: 2222 } }).host).toEqual({
      address: 'storage-1.internal',
      user: 'deploy',
      port: 2222,
      identityFile: '/ci/keys/storage',
      knownHostsFile: '/ci/known_hosts',
    });
    expect(new StorageProject(stack, 'c').host).toBeUndefined();
  });

  test('every identity, full spec and the manifest carry host: <address>, and only the address', () => {
    const carriers = byPath(synth(everything, { host: { ...REMOTE, user: 'deploy-ci', port: 2222 } }));
    const all = Object.entries(carriers);
    expect(all.length).toBe(7); // 2 storage, 2 mounts, 1 policy, the manifest and the retirement
    for (const [path, carrier] of all) {
      expect([path, carrier.triggers_replace.host]).toEqual([path, 'storage-1.internal']);
      if (!/\/(manifest|retirement)$/.test(path))
        expect([path, inputOf(carrier).host]).toEqual([path, 'storage-1.internal']);
      // A key rotation, another user or port must never replace anything: none of them is in the state's identity,
      // nor in the spec the manifest carries.
      const text = JSON.stringify([carrier.triggers_replace, carrier.input ?? {}, specEntries(carrier)]);
      for (const secretish of ['/ci/keys/storage', '/ci/known_hosts', '"user"', '"port"', 'deploy-ci', '2222'])
        expect([path, text.includes(secretish)]).toEqual([path, false]);
    }
  });

  test('every provisioner (the converge and the retirement) gets HOSTSTORE_HOST, the connection with defaults', () => {
    const carriers = byPath(synth(everything, { host: REMOTE }));
    const expected =
      '{"address":"storage-1.internal","user":"root","port":22,"identityFile":"/ci/keys/storage","knownHostsFile":"/ci/known_hosts"}';
    const provisioners = Object.values(carriers).flatMap((c) => (c.provisioner ?? []).map((p: any) => p['local-exec']));
    expect(provisioners.length).toBe(2);
    for (const p of provisioners) expect(p.environment.HOSTSTORE_HOST).toBe(expected);
    expect(provisioners.filter((p) => p.when === 'destroy').length).toBe(1);
  });

  test('optional files left out are left out of HOSTSTORE_HOST', () => {
    const carriers = byPath(synth(everything, { host: { address: '10.0.0.7', port: 2200 } }));
    expect(carriers['stack/proj/manifest'].provisioner[0]['local-exec'].environment.HOSTSTORE_HOST).toBe(
      '{"address":"10.0.0.7","user":"root","port":2200}',
    );
  });

  test('a local project: no host key in any trigger or spec, no HOSTSTORE_HOST', () => {
    const text = JSON.stringify(synth(everything));
    expect(text).not.toContain('"host"');
    expect(text).not.toContain('HOSTSTORE_HOST');
  });

  test('null_resource: the identity and the config carrier carry the host too', () => {
    const json = synth(everything, { host: REMOTE, carrier: 'null_resource' });
    const resources = Object.entries(json.resource.null_resource as Record<string, any>);
    expect(resources.length).toBe(12); // an identity and a config carrier for each of 5 things, the manifest, the retirement
    for (const [id, r] of resources) expect([id, r.triggers.host]).toEqual([id, 'storage-1.internal']);
  });

  test("a remote project's manifest has no grow precondition: fileexists() would read the deploying machine", () => {
    const carriers = byPath(synth(everything, { host: REMOTE }));
    expect(carriers['stack/proj/manifest'].lifecycle).toBeUndefined();
    expect(byPath(synth(everything))['stack/proj/manifest'].lifecycle.precondition).toHaveLength(1);
  });

  test('another identityFile, user or port changes no trigger and no spec (a key rotation replaces nothing)', () => {
    const strip = (json: any) =>
      Object.fromEntries(
        Object.entries(byPath(json)).map(([k, c]) => [k, { t: c.triggers_replace, i: c.input, s: specEntries(c) }]),
      );
    const before = strip(synth(everything, { host: REMOTE }));
    const after = strip(
      synth(everything, {
        host: { address: REMOTE.address, user: 'deploy', port: 2222, identityFile: '/ci/keys/new' },
      }),
    );
    expect(after).toEqual(before);
  });

  test('the same project name and root on two hosts is two projects; on one host it is refused', () => {
    const build = (second: HostProps | undefined) => {
      const app = Testing.app() as App;
      const one = new TerraformStack(app, 'one');
      const two = new TerraformStack(app, 'two');
      new Volume(new StorageProject(one, 'shop', { cli: '/c', host: { address: 'storage-1' } }), 'db', { sizeGb: 1 });
      new Volume(new StorageProject(two, 'shop', { cli: '/c', host: second }), 'db', { sizeGb: 1 });
      return app;
    };
    expect(() => build({ address: 'storage-2' }).synth()).not.toThrow();
    expect(() => build(undefined).synth()).not.toThrow();
    expect(() => build({ address: 'storage-1', port: 2222 }).synth()).toThrow(
      /project 'shop' under '\/var\/lib\/hoststore' on storage-1 is also declared by/,
    );
  });
});

describe('the wire schemas: host optional everywhere, checked by the address rule', () => {
  const storage = {
    kind: 'disk',
    root: '/srv/hs',
    project: 'shop',
    name: 'pg',
    stack: 'shop',
    size_gb: '1',
    filesystem: 'ext4',
    shared: 'false',
    removal_policy: 'retain',
    from_snapshot: '',
  };
  const manifest = { root: '/srv/hs', project: 'shop', stack: 'shop', storage: 'disk:pg', mounts: '', policies: '' };

  test.each([
    ['storage spec', storageSpecSchema, storage],
    ['storage identity', storageIdentitySchema, storage],
    ['project manifest', projectManifestSchema, manifest],
  ])('%s: absent or an address is accepted; another value is refused naming host', (_name, schema, value) => {
    expect(schema.safeParse(value).success).toBe(true);
    expect(schema.safeParse({ ...value, host: 'storage-1.internal' }).success).toBe(true);
    const bad = { ...value, host: 'storage-1.internal;reboot' };
    const result = schema.safeParse(bad);
    expect(result.success).toBe(false);
    if (!result.success)
      expect(describeZodError(result.error, bad)).toBe(`host: ${ADDRESS_RULE} (got "storage-1.internal;reboot")`);
  });

  test('a mount and a snapshot policy carry it in their identity too', () => {
    const identity = (schema: { parse(v: unknown): unknown }, value: object) =>
      (schema.parse({ ...value, host: 'h1' }) as { host?: string }).host;
    expect(
      identity(mountIdentitySchema, {
        root: '/srv/hs',
        project: 'shop',
        storage: 'pg',
        storage_kind: 'disk',
        service: 'db',
        replica: '1',
        mount_path: '/data',
      }),
    ).toBe('h1');
    expect(
      identity(snapshotPolicyIdentitySchema, {
        root: '/srv/hs',
        project: 'shop',
        policy: 'nightly',
        storage: 'pg',
        storage_kind: 'disk',
      }),
    ).toBe('h1');
  });
});
