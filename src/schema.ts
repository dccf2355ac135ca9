/**
 * The contract between the constructs (src/) and the handlers (provider/): the rules every value must
 * follow and the zod schemas of the specs that travel through Terraform triggers. Pure: no host I/O,
 * no cdktf, so the handler can load it cheaply on every invocation.
 */
import { z } from 'zod';
import type { Cron as CronType } from 'croner';
import { moduleRequire } from './module-context.cjs';
import { hostAddressRule } from './host-connection.js';
import {
  parseFromBackupField,
  parseRepositoryField,
  type BackupRepositoryWire,
  type FromBackupWire,
} from './backup-spec.js';

/**
 * croner, loaded on the first cron rule: every handler start loads this module, and only snapshot
 * policies have schedules (croner's CommonJS build, so the rule can stay synchronous).
 */
let cronClass: typeof CronType | undefined;
function Cron(...args: ConstructorParameters<typeof CronType>): CronType {
  cronClass ??= (moduleRequire('croner') as { Cron: typeof CronType }).Cron;
  return new cronClass(...args);
}

export const DEFAULT_ROOT = '/var/lib/hoststore';
export const DEFAULT_MAX_VOLUMES = 10;
export const DEFAULT_MAX_VOLUME_SIZE_GB = 500;
export const DEFAULT_RETENTION_DAYS = 7;
/** How long a replicated policy's backups stay in the repository when neither remote retention is set (or the local retentionDays, when longer). */
export const DEFAULT_REMOTE_RETENTION_DAYS = 30;
/** How long a snapshot may freeze a mounted filesystem unless a policy or `snapshot create` says otherwise. */
export const DEFAULT_MAX_FREEZE_SECONDS = 5;
/** Beyond an hour a freeze is an outage, not a snapshot. */
export const MAX_FREEZE_SECONDS_LIMIT = 3600;
/** A replica count beyond this is a typo, not a deployment: every replica gets its own host path. */
export const MAX_REPLICAS = 100;
/** Storage names become file names and device labels; 63 keeps them DNS-label sized. */
export const MAX_NAME_LENGTH = 63;
/** Hard ceiling the handler enforces whatever the project's limits say (64 TiB), so a tampered size is refused. */
export const ABSOLUTE_MAX_SIZE_GB = 65536;

export const FILESYSTEMS = ['ext4', 'xfs', 'btrfs'] as const;
export type Filesystem = (typeof FILESYSTEMS)[number];
export const REMOVAL_POLICIES = ['retain', 'destroy', 'snapshot'] as const;
export type RemovalPolicy = (typeof REMOVAL_POLICIES)[number];
export const STORAGE_KINDS = ['volume', 'directory', 'disk'] as const;
export type StorageKind = (typeof STORAGE_KINDS)[number];
export const CARRIERS = ['terraform_data', 'null_resource'] as const;
export type Carrier = (typeof CARRIERS)[number];

/** Directories a storage root must never be, nor sit inside (the host's own system trees). */
export const SYSTEM_DIRECTORIES = [
  '/',
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/proc',
  '/run',
  '/sbin',
  '/sys',
  '/usr',
];

/**
 * Shared directories a root must not be itself (anyone may create entries in them, or they hold other
 * software's data); a dedicated directory inside one is fine (`/var/lib/hoststore`, `/srv/storage`).
 */
export const SHARED_DIRECTORIES = [
  '/tmp',
  '/var',
  '/var/lib',
  '/var/tmp',
  '/home',
  '/srv',
  '/opt',
  '/mnt',
  '/media',
  '/root',
];

// ---------------------------------------------------------------------------------------------
// Rules. Each returns undefined when the value is fine, else the rule it breaks (without the
// value: callers add the construct path, the property and the value they got).
// ---------------------------------------------------------------------------------------------

const NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const PROJECT_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const PATH_SEGMENT_PATTERN = /^[A-Za-z0-9._@+=-]+$/;

/** Disk, volume and service names: alphanumeric and hyphens, as the disk service documents. */
export function nameRule(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length === 0) return 'must not be empty';
  if (value.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters (got ${value.length})`;
  if (!NAME_PATTERN.test(value)) {
    return 'must contain only letters, digits and hyphens, and start and end with a letter or digit';
  }
  return undefined;
}

export function projectNameRule(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length === 0) return 'must not be empty';
  if (value.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters (got ${value.length})`;
  if (!PROJECT_NAME_PATTERN.test(value)) {
    return 'must contain only lowercase letters, digits and hyphens, and start and end with a letter or digit';
  }
  return undefined;
}

/** An absolute, normalized path made of plain segments (no `..`, no `.`, no `//`, no spaces or shell characters). */
export function absolutePathRule(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (!value.startsWith('/')) return 'must be an absolute path (start with /)';
  if (value === '/') return undefined;
  if (value.endsWith('/')) return 'must be normalized: no trailing slash';
  const segments = value.slice(1).split('/');
  for (const segment of segments) {
    if (segment === '') return 'must be normalized: no empty segment (//)';
    if (segment === '.' || segment === '..') return `must be normalized: no '${segment}' segment`;
    if (!PATH_SEGMENT_PATTERN.test(segment)) {
      return 'must contain only letters, digits and . _ @ + = - between slashes (no spaces, quotes or shell characters)';
    }
  }
  return undefined;
}

export function mountPathRule(value: unknown): string | undefined {
  const problem = absolutePathRule(value);
  if (problem) return problem;
  if (value === '/') return 'must not be / (the whole container filesystem)';
  return undefined;
}

let lastRoot: { value: unknown; problem: string | undefined } | undefined;

/** Every spec of a stack carries the same root, so the last answer is remembered (the rule is pure). */
export function rootRule(value: unknown): string | undefined {
  if (lastRoot && lastRoot.value === value) return lastRoot.problem;
  const problem = checkRoot(value);
  lastRoot = { value, problem };
  return problem;
}

function checkRoot(value: unknown): string | undefined {
  const problem = absolutePathRule(value);
  if (problem) return problem;
  const root = value as string;
  for (const system of SYSTEM_DIRECTORIES) {
    if (root === system || (system !== '/' && root.startsWith(system + '/'))) {
      return `must not be a system directory or lie inside one (${SYSTEM_DIRECTORIES.join(', ')})`;
    }
  }
  if (SHARED_DIRECTORIES.includes(root)) {
    return `must be a dedicated directory, not the shared ${root} itself (${SHARED_DIRECTORIES.join(', ')}); use a directory of its own such as ${DEFAULT_ROOT}`;
  }
  return undefined;
}

/**
 * A whole number within [min, max]. Every way to miss it (a string, NaN, Infinity as 1e309 parses, -0,
 * a fraction, out of range) gets the same rule, so the line says what to write, not only what was wrong.
 */
export function wholeNumberRule(value: unknown, min: number, max: number): string | undefined {
  const ok =
    typeof value === 'number' && Number.isInteger(value) && !Object.is(value, -0) && value >= min && value <= max;
  return ok ? undefined : `must be a whole number from ${min} to ${max}`;
}

export function positiveWholeNumberRule(value: unknown): string | undefined {
  const ok = typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
  return ok ? undefined : 'must be a whole number, 1 or more';
}

/** A snapshot's freeze bound: seconds, a number from 0.1 (the freeze commands alone take tens of ms) to an hour. */
export function maxFreezeSecondsRule(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a number of seconds';
  if (value < 0.1 || value > MAX_FREEZE_SECONDS_LIMIT) return `must be from 0.1 to ${MAX_FREEZE_SECONDS_LIMIT} seconds`;
  return undefined;
}

/** `max_freeze_seconds` on the wire: digits with an optional fraction; '' or absent (older carriers) means the default. */
function maxFreezeSecondsWireRule(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  return /^[0-9]+(\.[0-9]+)?$/.test(text)
    ? maxFreezeSecondsRule(Number(text))
    : 'must be a number of seconds written in digits (like 5 or 0.5)';
}

/** A 5-field cron expression (minute hour day-of-month month day-of-week), evaluated in UTC, that fires at least once. */
export function cronRule(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  const fields = value.trim().split(/\s+/);
  if (fields.length !== 5 || value.trim() === '') {
    return `must be a 5-field cron expression (minute hour day-of-month month day-of-week), got ${fields.length} field(s)`;
  }
  let cron: CronType;
  try {
    cron = Cron(value, { paused: true, timezone: 'UTC' });
  } catch (error) {
    return `must be a valid cron expression: ${(error as Error).message.replace(/^CronPattern: /, '')}`;
  }
  if (cron.nextRun(new Date(Date.UTC(2000, 0, 1))) === null)
    return 'must fire at least once (this schedule never does)';
  return undefined;
}

/**
 * Snapshot ids as `hoststore snapshot list` prints them: `<name>.<UTC time>.<kind>[.<project>][.<n>]`
 * (the project for volumes and directories; `.<n>` for a second snapshot in the same second), or
 * `<name>.<UTC time>` as earlier builds wrote them.
 */
const SNAPSHOT_ID_PATTERN = new RegExp(
  '^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\\.[0-9]{8}T[0-9]{6}Z' +
    '(?:\\.(?:disk|(?:volume|directory)\\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\\.[2-9]|\\.[1-9][0-9]+)?)?$',
);
export function snapshotIdRule(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  return SNAPSHOT_ID_PATTERN.test(value)
    ? undefined
    : 'must be a snapshot id as `hoststore snapshot list` shows it (<name>.<YYYYMMDDTHHMMSSZ>.<kind>[.<project>][.<n>], or <name>.<YYYYMMDDTHHMMSSZ>)';
}

export function oneOfRule<T extends string>(value: unknown, allowed: readonly T[]): string | undefined {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value)
    ? undefined
    : `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`;
}

// ---------------------------------------------------------------------------------------------
// Wire specs: what a carrier's triggers hold (strings only, snake_case, so `cdktf diff` reads
// `size_gb: "10" -> "20"`) and what the handler parses again before it touches anything.
// ---------------------------------------------------------------------------------------------

type Rule = (value: string) => string | undefined;
type Issue = readonly [field: string, message: string];

/**
 * A wire spec: a zod object of string (and enum) fields, each string field checked by its rule, plus
 * checks across fields. The rules run in one object-level refinement rather than as one zod effect per
 * field: zod 3 pays several microseconds for each effect, and a plan validates every spec of a stack.
 * `unknownKeys: 'strip'` (identities) ignores the rest of a spec; `'strict'` (specs) refuses extra keys.
 */
function wireObject<S extends z.ZodRawShape>(
  shape: S,
  rules: { readonly [K in keyof S]?: Rule },
  options: { readonly unknownKeys: 'strict' | 'strip'; readonly across?: (spec: z.output<z.ZodObject<S>>) => Issue[] },
) {
  return lazy(() => {
    const object = (options.unknownKeys === 'strict' ? z.object(shape).strict() : z.object(shape)) as z.ZodObject<S>;
    const fields = Object.keys(rules) as Array<keyof S & string>;
    return object.superRefine((spec, ctx) => {
      for (const field of fields) {
        const problem = (rules[field] as Rule)(spec[field] as string);
        if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [field], message: problem });
      }
      for (const [field, message] of options.across?.(spec) ?? [])
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [field], message });
    });
  });
}

/**
 * A schema made on its first use, and so is the `.transform()` chained onto it: a handler process
 * validates one kind's spec, and making every kind's zod schemas when this module loads cost each one ~2 ms.
 */
function lazy<T extends z.ZodTypeAny>(make: () => T): T {
  let made: T | undefined;
  const schema = (): T => (made ??= make());
  return new Proxy({} as T, {
    get(_, key) {
      if (key === 'transform')
        return (fn: Parameters<T['transform']>[0]) => lazy(() => schema().transform(fn) as z.ZodTypeAny);
      const value: unknown = Reflect.get(schema(), key);
      return typeof value === 'function' ? value.bind(schema()) : value;
    },
    getPrototypeOf: () => Object.getPrototypeOf(schema()),
  });
}

/** A whole number written in digits within [min, max]; with `optional`, '' means absent. */
function wholeStringRule(min: number, max: number, optional = false): Rule {
  return (text) => {
    if (optional && text === '') return undefined;
    return /^[0-9]+$/.test(text) ? wholeNumberRule(Number(text), min, max) : 'must be a whole number written in digits';
  };
}

const optionalNumber = (text: string): number | undefined => (text === '' ? undefined : Number(text));
/** A field left out of the wire (older carriers, or a prop not set) passes; a present one obeys `rule`. */
const optionalWire = (rule: Rule): Rule => ((v: string | undefined) => (v === undefined ? undefined : rule(v))) as Rule;
const boolString = z.enum(['true', 'false']);
const stackName = z.string().max(255);

/**
 * The host a remote project's things are on (its address; absent for a local project, so a local stack's
 * identities stay as they were). Part of every identity: the same name on two hosts is two things.
 */
const hostShape = { host: z.string().optional() };
const hostRules = {
  host: ((v: string | undefined) => (v === undefined ? undefined : hostAddressRule(v))) as Rule,
};

/** Fields that say *which* storage this is. A change to any of them is a different storage. */
const storageIdentityShape = {
  ...hostShape,
  kind: z.enum(STORAGE_KINDS),
  root: z.string(),
  project: z.string(),
  name: z.string(),
};
const storageIdentityRules = { ...hostRules, root: rootRule, project: projectNameRule, name: nameRule };
export const storageIdentitySchema = wireObject(storageIdentityShape, storageIdentityRules, { unknownKeys: 'strip' });

/** Everything the handler needs to converge one storage; identity plus what may change in place. */
export const storageSpecSchema = wireObject(
  {
    ...storageIdentityShape,
    stack: stackName,
    size_gb: z.string(),
    filesystem: z.enum([...FILESYSTEMS, '']),
    shared: boolString,
    removal_policy: z.enum(REMOVAL_POLICIES),
    from_snapshot: z.string(),
    // Present only when a fromBackup is set, so every other spec renders as before.
    from_backup: z.string().optional(),
  },
  {
    ...storageIdentityRules,
    size_gb: wholeStringRule(1, ABSOLUTE_MAX_SIZE_GB, true),
    from_snapshot: (v) =>
      v === '' || snapshotIdRule(v) === undefined
        ? undefined
        : 'must be empty or a snapshot id (<name>.<YYYYMMDDTHHMMSSZ>.<kind>[.<project>][.<n>])',
    from_backup: ((v: string | undefined) => (v === undefined ? undefined : parseFromBackupField(v).problem)) as Rule,
  },
  {
    unknownKeys: 'strict',
    across: (spec) => {
      const issues: Issue[] = [];
      if (spec.kind === 'directory') {
        if (spec.size_gb !== '') issues.push(['size_gb', 'a directory volume has no size']);
        if (spec.filesystem !== '') issues.push(['filesystem', 'a directory volume has no filesystem']);
      } else {
        if (spec.filesystem === '') issues.push(['filesystem', 'is required for a block volume or disk']);
        if (spec.kind === 'volume' && spec.size_gb === '') issues.push(['size_gb', 'is required for a volume']);
        if (spec.kind === 'volume' && spec.filesystem !== 'ext4') issues.push(['filesystem', 'volumes are ext4 only']);
      }
      if (spec.from_backup !== undefined && spec.from_snapshot !== '')
        issues.push([
          'from_backup',
          'must not be set together with from_snapshot (a storage is created from one source)',
        ]);
      return issues;
    },
  },
).transform(({ from_backup, ...spec }) => ({
  ...spec,
  size_gb: optionalNumber(spec.size_gb),
  shared: spec.shared === 'true',
  ...(from_backup === undefined ? {} : { from_backup: parseFromBackupField(from_backup).value as FromBackupWire }),
}));

/** Fields that say *which* attachment this is: one replica of one service seeing one storage at one path. */
const mountIdentityShape = {
  ...hostShape,
  root: z.string(),
  project: z.string(),
  storage: z.string(),
  storage_kind: z.enum(STORAGE_KINDS),
  service: z.string(),
  replica: z.string(),
  mount_path: z.string(),
};
const mountIdentityRules = {
  ...hostRules,
  root: rootRule,
  project: projectNameRule,
  storage: nameRule,
  service: nameRule,
  replica: wholeStringRule(1, MAX_REPLICAS),
  mount_path: mountPathRule,
};
export const mountIdentitySchema = wireObject(mountIdentityShape, mountIdentityRules, {
  unknownKeys: 'strip',
}).transform((identity) => ({ ...identity, replica: Number(identity.replica) }));

export const mountSpecSchema = wireObject(
  { ...mountIdentityShape, stack: stackName, host_path: z.string(), read_only: boolString },
  { ...mountIdentityRules, host_path: absolutePathRule },
  {
    unknownKeys: 'strict',
    across: (spec) => {
      if (mountIdentityRules.replica(spec.replica) !== undefined) return [];
      const expected = replicaHostPath(spec.root, spec.project, spec.service, Number(spec.replica), spec.mount_path);
      return spec.host_path === expected
        ? []
        : [['host_path', `must be ${expected} (derived from root, project, service, replica and mount_path)`]];
    },
  },
).transform((spec) => ({ ...spec, replica: Number(spec.replica), read_only: spec.read_only === 'true' }));

const policyIdentityShape = {
  ...hostShape,
  root: z.string(),
  project: z.string(),
  policy: z.string(),
  storage: z.string(),
  storage_kind: z.enum(STORAGE_KINDS),
};
const policyIdentityRules = {
  ...hostRules,
  root: rootRule,
  project: projectNameRule,
  policy: nameRule,
  storage: nameRule,
};
export const snapshotPolicyIdentitySchema = wireObject(policyIdentityShape, policyIdentityRules, {
  unknownKeys: 'strip',
});

export const snapshotPolicySpecSchema = wireObject(
  {
    ...policyIdentityShape,
    stack: stackName,
    schedule: z.string(),
    retention_days: z.string(),
    retention_count: z.string(),
    max_freeze_seconds: z.string().optional(),
    // Present only for a replicated policy, so every other spec renders as before.
    replicate_to: z.string().optional(),
    remote_retention_days: z.string().optional(),
    remote_retention_count: z.string().optional(),
  },
  {
    ...policyIdentityRules,
    schedule: cronRule,
    retention_days: wholeStringRule(1, 36500, true),
    retention_count: wholeStringRule(1, 100000, true),
    max_freeze_seconds: maxFreezeSecondsWireRule as Rule,
    replicate_to: ((v: string | undefined) => (v === undefined ? undefined : parseRepositoryField(v).problem)) as Rule,
    remote_retention_days: optionalWire(wholeStringRule(1, 36500)),
    remote_retention_count: optionalWire(wholeStringRule(1, 100000)),
  },
  {
    unknownKeys: 'strict',
    across: (spec) =>
      spec.replicate_to === undefined
        ? (['remote_retention_days', 'remote_retention_count'] as const)
            .filter((field) => spec[field] !== undefined)
            .map((field): Issue => [field, 'applies only with replicate_to (backups kept in a repository)'])
        : [],
  },
).transform(({ replicate_to, remote_retention_days, remote_retention_count, ...spec }) => ({
  ...spec,
  retention_days: optionalNumber(spec.retention_days),
  retention_count: optionalNumber(spec.retention_count),
  max_freeze_seconds: optionalNumber(spec.max_freeze_seconds ?? '') ?? DEFAULT_MAX_FREEZE_SECONDS,
  ...(replicate_to === undefined
    ? {}
    : { replicate_to: parseRepositoryField(replicate_to).value as BackupRepositoryWire }),
  ...(remote_retention_days === undefined ? {} : { remote_retention_days: Number(remote_retention_days) }),
  ...(remote_retention_count === undefined ? {} : { remote_retention_count: Number(remote_retention_count) }),
}));

/**
 * What one stack's StorageProject declares, so the handler can retire what the code no longer has:
 * Terraform drops a removed resource's destroy-time provisioners with its block, so removal from code is
 * reconciled here instead. Lists are sorted, comma-separated, one readable entry per item.
 */
const listRule =
  (item: RegExp, what: string): Rule =>
  (v) =>
    v === '' || v.split(',').every((entry) => item.test(entry))
      ? undefined
      : `must be a comma-separated list of ${what}`;
const listOf = (v: string): string[] => (v === '' ? [] : v.split(','));

export const projectManifestSchema = wireObject(
  {
    ...hostShape,
    root: z.string(),
    project: z.string(),
    stack: z.string().min(1).max(255),
    storage: z.string(),
    mounts: z.string(),
    policies: z.string(),
    // A digest of every thing's full spec (absent in manifests of earlier builds): a change anywhere
    // replaces the manifest, so it converges; the specs themselves arrive in HOSTSTORE_SPEC_<n>.
    specs: z.string().optional(),
  },
  {
    ...hostRules,
    root: rootRule,
    project: projectNameRule,
    storage: listRule(/^(volume|directory|disk):[A-Za-z0-9-]{1,63}$/, 'kind:name entries'),
    mounts: listRule(/^[A-Za-z0-9-]{1,63}\/[0-9]{1,3}:\/[A-Za-z0-9._@+=/-]*$/, 'service/replica:/mount/path entries'),
    policies: listRule(/^[A-Za-z0-9-]{1,63}:[A-Za-z0-9-]{1,63}$/, 'policy:storage entries'),
    specs: ((v: string | undefined) =>
      v === undefined || /^[0-9a-f]{64}$/.test(v) ? undefined : 'must be a SHA-256 digest in hex') as Rule,
  },
  { unknownKeys: 'strict' },
).transform((manifest) => ({
  ...manifest,
  storage: listOf(manifest.storage),
  mounts: listOf(manifest.mounts),
  policies: listOf(manifest.policies),
}));

export type ProjectManifestWire = z.input<typeof projectManifestSchema>;
export type ProjectManifest = z.output<typeof projectManifestSchema>;

export type StorageIdentityWire = z.input<typeof storageIdentitySchema>;
export type StorageSpecWire = z.input<typeof storageSpecSchema>;
export type StorageSpec = z.output<typeof storageSpecSchema>;
export type StorageIdentity = z.output<typeof storageIdentitySchema>;
export type MountIdentityWire = z.input<typeof mountIdentitySchema>;
export type MountSpecWire = z.input<typeof mountSpecSchema>;
export type MountSpec = z.output<typeof mountSpecSchema>;
export type MountIdentity = z.output<typeof mountIdentitySchema>;
export type SnapshotPolicyIdentityWire = z.input<typeof snapshotPolicyIdentitySchema>;
export type SnapshotPolicySpecWire = z.input<typeof snapshotPolicySpecSchema>;
export type SnapshotPolicySpec = z.output<typeof snapshotPolicySpecSchema>;

/** One line per problem: `field: rule (got "value")`. Used by the handler to refuse a tampered spec. */
export function describeZodError(error: z.ZodError, input: unknown): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.join('.') || '(spec)';
      const got = issue.path.reduce<unknown>(
        (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k as string] : undefined),
        input,
      );
      return `${field}: ${issue.message}${got === undefined ? '' : ` (got ${showGot(got)})`}`;
    })
    .join('; ');
}

/** A value as JSON for an error line, bounded: a nested or huge value must not blow up the message. */
function showGot(value: unknown): string {
  if (typeof value === 'string' && value.length > 120) return JSON.stringify(`${value.slice(0, 117)}...`);
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    return Array.isArray(value) ? '[a deeply nested array]' : '[a deeply nested value]';
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

// ---------------------------------------------------------------------------------------------
// Host layout: where everything lives under a root. Pure string functions shared by the
// constructs (host paths are attributes and outputs) and the handlers.
// ---------------------------------------------------------------------------------------------

/** Per-replica volume names for a volume with `shared: false`. */
export function replicaVolumeName(name: string, replica: number): string {
  return `${name}-${replica}`;
}

/** Disks are host-wide (reuse by name across projects); volumes and directories belong to a project. */
export function storageDirectory(root: string, kind: StorageKind, project: string): string {
  return kind === 'disk'
    ? `${root}/disks`
    : `${root}/projects/${project}/${kind === 'directory' ? 'directories' : 'volumes'}`;
}

export function imagePath(root: string, kind: StorageKind, project: string, name: string): string {
  return `${storageDirectory(root, kind, project)}/${name}.img`;
}

export function directoryPath(root: string, project: string, name: string): string {
  return `${storageDirectory(root, 'directory', project)}/${name}`;
}

/** Where a block storage's filesystem is mounted once (staged) before being bind-mounted into replicas. */
export function stagingPath(root: string, kind: StorageKind, project: string, name: string): string {
  return kind === 'disk' ? `${root}/staging/disks/${name}` : `${root}/staging/projects/${project}/${name}`;
}

/** The host path one replica of a service binds in at `mountPath`. */
export function replicaHostPath(
  root: string,
  project: string,
  service: string,
  replica: number,
  mountPath: string,
): string {
  return `${root}/projects/${project}/services/${service}/${replica}${mountPath}`;
}

/**
 * Where a snapshot lives: one directory per storage, laid out like the storage itself
 * (`<root>/snapshots/disks/<name>/<id>.img`, `<root>/snapshots/projects/<project>/volumes/<name>/<id>.img`,
 * a directory volume's snapshot is a directory `<id>`).
 */
export function snapshotPath(root: string, kind: StorageKind, project: string, name: string, id: string): string {
  const dir =
    kind === 'disk'
      ? `${root}/snapshots/disks/${name}`
      : `${root}/snapshots/projects/${project}/${kind === 'directory' ? 'directories' : 'volumes'}/${name}`;
  return `${dir}/${id}${kind === 'directory' ? '' : '.img'}`;
}

/** Where earlier builds put a snapshot (`<root>/snapshots/<kind>--<project>--<name>/<id>.img`, `disk--<name>` for a disk); still read. */
export function legacySnapshotPath(root: string, kind: StorageKind, project: string, name: string, id: string): string {
  const key = kind === 'disk' ? `disk--${name}` : `${kind}--${project}--${name}`;
  return `${root}/snapshots/${key}/${id}${kind === 'directory' ? '' : '.img'}`;
}
