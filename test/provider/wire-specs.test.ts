/**
 * The wire specs as the handlers parse them: every field's rule reported with the field and the value,
 * several problems at once, unknown keys refused in a spec and ignored in an identity, and the values
 * converted (numbers, booleans) only once the whole spec is valid; and the contract table agreeing with
 * the schemas and with the carriers the constructs render.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { handlerCommand, identityFields, KIND_NAMES, KINDS, type KindName } from '../../src/kinds.js';
import { encodeFromBackup, encodeRepository } from '../../src/backup-spec.js';
import { synthModel } from '../helpers/synth-model.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { snapshotPolicyHandler } from '../../provider/handlers/snapshot-policy.js';
import { SpecError } from '../../provider/errors.js';
import { mountWire, storageWire } from '../helpers/specs.js';

const root = '/srv/hoststore';

function rejection(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SpecError);
    return (error as Error).message;
  }
  throw new Error('expected the spec to be refused');
}

test('a valid spec is converted: sizes and replicas become numbers, flags booleans', () => {
  expect(storageHandler.validate(storageWire(root, { size_gb: '20', shared: 'true' }))).toMatchObject({
    size_gb: 20,
    shared: true,
    kind: 'disk',
  });
  expect(storageHandler.validate(storageWire(root, { kind: 'directory', size_gb: '', filesystem: '' }))).toMatchObject({
    size_gb: undefined,
  });
  expect(mountHandler.validate(mountWire(root, { replica: '2', read_only: 'true' }))).toMatchObject({
    replica: 2,
    read_only: true,
  });
});

test('every broken field is named with its rule and the value it got, all at once', () => {
  const message = rejection(() =>
    storageHandler.validate(storageWire(root, { name: 'bad name', size_gb: '0', root: '/etc/x' })),
  );
  expect(message).toMatch(/^storage spec rejected: /);
  expect(message).toMatch(/root: must not be a system directory or lie inside one .* \(got "\/etc\/x"\)/);
  expect(message).toMatch(/name: must contain only letters, digits and hyphens.* \(got "bad name"\)/);
  expect(message).toMatch(/size_gb: must be a whole number from 1 to 65536 \(got "0"\)/);
});

test('rules across fields: a volume is ext4 with a size, a directory has neither, a host path is derived', () => {
  expect(rejection(() => storageHandler.validate(storageWire(root, { kind: 'volume', filesystem: 'xfs' })))).toMatch(
    /filesystem: volumes are ext4 only \(got "xfs"\)/,
  );
  expect(rejection(() => storageHandler.validate(storageWire(root, { kind: 'directory', filesystem: '' })))).toMatch(
    /size_gb: a directory volume has no size \(got "1"\)/,
  );
  expect(rejection(() => mountHandler.validate({ ...mountWire(root), host_path: '/srv/hoststore/elsewhere' }))).toMatch(
    /host_path: must be \/srv\/hoststore\/projects\/app\/services\/web\/1\/data/,
  );
});

test('a spec refuses keys it does not know; an identity ignores keys beyond the identity', () => {
  expect(rejection(() => storageHandler.validate({ ...storageWire(root), command: 'rm -rf /' }))).toMatch(
    /Unrecognized key\(s\) in object: 'command'/,
  );
  expect(storageHandler.validateIdentity(storageWire(root))).toEqual({
    kind: 'disk',
    root,
    project: 'app',
    name: 'data',
  });
  expect(mountHandler.validateIdentity(mountWire(root))).toEqual({
    root,
    project: 'app',
    storage: 'data',
    storage_kind: 'disk',
    service: 'web',
    replica: 1,
    mount_path: '/data',
  });
  expect(rejection(() => mountHandler.validateIdentity({ ...mountWire(root), replica: 'one' }))).toMatch(
    /replica: must be a whole number written in digits \(got "one"\)/,
  );
});

test('a field of the wrong type is refused before any rule runs, naming the field', () => {
  expect(rejection(() => storageHandler.validate({ ...storageWire(root), size_gb: 5 }))).toMatch(
    /size_gb: Expected string, received number/,
  );
  expect(
    rejection(() =>
      snapshotPolicyHandler.validate({
        root,
        project: 'app',
        stack: 's',
        policy: 'nightly',
        storage: 'data',
        storage_kind: 'disk',
        schedule: 'every day',
        retention_days: '7',
        retention_count: '',
      }),
    ),
  ).toMatch(/schedule: must be a 5-field cron expression/);
});

const equal = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, n) => x === b[n]);

describe('the contract table (src/kinds.ts) agrees with the schemas and with what the constructs render', () => {
  const policyWire = {
    root,
    project: 'app',
    stack: 's',
    policy: 'nightly',
    storage: 'data',
    storage_kind: 'disk',
    schedule: '0 4 * * *',
    retention_days: '7',
    retention_count: '',
    max_freeze_seconds: '5',
  };
  // A remote project's wires: every field of the table, `host` included (a local project's have no `host`),
  // and the backup fields (present only when fromBackup / replicateTo are set).
  const host = 'storage-1.internal';
  const repository = { name: 'offsite', url: '/srv/backups', password_file: '/etc/hoststore/offsite.pass' };
  const wires: Record<string, Record<string, string>> = {
    storage: { ...storageWire(root, { host }), from_backup: encodeFromBackup({ repository, snapshot: 'latest' }) },
    mount: mountWire(root, { host }),
    'snapshot-policy': {
      ...policyWire,
      host,
      replicate_to: encodeRepository(repository),
      remote_retention_days: '30',
      remote_retention_count: '10',
    },
  };
  const WHEN_SET = ['host', 'from_backup', 'replicate_to', 'remote_retention_days', 'remote_retention_count'];
  /** What a local project without backups renders: the table's fields but those present only when set. */
  const local = (fields: readonly string[]) => fields.filter((f) => !WHEN_SET.includes(f)).sort();

  test.each(Object.keys(wires))(
    '%s: the identity fields are the identity schema, every spec field has a rule',
    (name) => {
      const kind = KINDS[name as KindName];
      const identity = kind.identity.parse(wires[name]) as Record<string, unknown>;
      expect(Object.keys(identity).sort()).toEqual(identityFields(name as KindName).sort());
      expect(Object.keys(kind.fields).sort()).toEqual(Object.keys(wires[name]).sort());
      expect(() => kind.spec.parse(wires[name])).not.toThrow();
    },
  );

  test("a thing's carrier runs nothing, with the table's identity as triggers and all its fields as input; the project's run the table's commands", () => {
    const out = synthModel({
      stack: 'wire',
      root,
      storage: [
        {
          id: 'data',
          type: 'Disk',
          props: { name: 'data', sizeGb: 1 },
          mounts: [{ id: 'data-mount', service: 'web', mountPath: '/data' }],
          policy: { id: 'nightly', schedule: '0 4 * * *' },
        },
      ],
    });
    try {
      const synthesized = JSON.parse(fs.readFileSync(path.join(out, 'stacks', 'wire', 'cdk.tf.json'), 'utf8'));
      const commands = new Map(
        KIND_NAMES.flatMap((k) =>
          (['converge', 'delete'] as const).map((op) => [handlerCommand(k, op), { kind: k, op }] as const),
        ),
      );
      const seen = new Set<string>();
      const things = new Set<string>();
      const converged: string[] = [];
      for (const carrier of Object.values(synthesized.resource.terraform_data) as Array<{
        triggers_replace: Record<string, string>;
        input?: string;
        provisioner?: Array<{ 'local-exec': { command: string; environment: Record<string, string> } }>;
      }>) {
        if (!carrier.provisioner) {
          // A thing's carrier runs nothing: the table's identity of its kind as triggers, every field as input
          const triggers = Object.keys(carrier.triggers_replace).sort();
          const kind = KIND_NAMES.find((k) => k !== 'project' && equal(local(identityFields(k)), triggers));
          expect({ triggers, kind: kind ?? 'none' }).toEqual({ triggers, kind: expect.not.stringMatching(/^none$/) });
          things.add(kind!);
          const fields = local(Object.keys(KINDS[kind!].fields));
          expect({ kind, input: Object.keys(JSON.parse(carrier.input ?? '{}')).sort() }).toEqual({
            kind,
            input: fields,
          });
          continue;
        }
        const found = commands.get(carrier.provisioner[0]['local-exec'].command);
        expect(found).toBeDefined();
        const { kind, op } = found!;
        seen.add(`${kind} ${op}`);
        // The manifest and the retirement: the project's fields as triggers
        expect({ kind, triggers: Object.keys(carrier.triggers_replace).sort() }).toEqual({
          kind: 'project',
          triggers: local(Object.keys(KINDS.project.fields)).filter((f) => op === 'converge' || f !== 'specs'),
        });
        if (op === 'converge')
          for (const [name, value] of Object.entries(carrier.provisioner[0]['local-exec'].environment))
            if (name.startsWith('HOSTSTORE_SPEC_'))
              converged.push(JSON.parse(value.replace(/\$\{.*\}\}$/, 'null}')).kind);
      }
      expect([...seen].sort()).toEqual(['project converge', 'project delete']);
      expect([...things].sort()).toEqual(['mount', 'snapshot-policy', 'storage']);
      expect(converged).toEqual(['storage', 'mount', 'snapshot-policy']);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
