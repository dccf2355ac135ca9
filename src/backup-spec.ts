/**
 * A BackupRepository as the specs carry it: where a restic repository is and the host files that open it,
 * written as canonical JSON into a SnapshotPolicy's `replicate_to` and a Volume's or Disk's `from_backup`.
 * Its rules and its parser are shared by the constructs (synth) and the handlers (what they accept). Pure.
 */
import { absolutePathRule, nameRule } from './schema.js';

/** A repository as a spec holds it (wire field names). */
export interface BackupRepositoryWire {
  /** The BackupRepository construct's id: how `--repository NAME` finds it on the host. */
  readonly name: string;
  /** A restic repository URL: an absolute path, `local:`, `sftp:`, `rest:`, `s3:`, `b2:`, `azure:`, `gs:`, `swift:`, `rclone:`. */
  readonly url: string;
  /** On the host: the repository's password (root-owned, not readable by others). Never the secret itself. */
  readonly password_file: string;
  /** On the host: `KEY=value` lines restic reads as its environment (credentials for s3: and the like). */
  readonly environment_file?: string;
  /** restic's extended options (`-o key=value`), for example `sftp.command`. */
  readonly options?: Readonly<Record<string, string>>;
}

/** Which backup a new storage is made from: the newest of its name, or one restic snapshot id. */
export interface FromBackupWire {
  readonly repository: BackupRepositoryWire;
  /** `latest` or a restic snapshot id (8 to 64 lowercase hex digits). */
  readonly snapshot: string;
}

export const LATEST_BACKUP = 'latest';

const SCHEMES = ['local', 'sftp', 'rest', 's3', 'b2', 'azure', 'gs', 'swift', 'rclone'] as const;
// No control characters (a newline would end a line of restic's environment, a NUL a C string).
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A restic repository URL that names one place without depending on the working directory. */
export function repositoryUrlRule(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length === 0) return 'must not be empty';
  if (value.length > 1024) return `must be at most 1024 characters (got ${value.length})`;
  if (CONTROL.test(value)) return 'must not contain control characters (newlines, tabs, NUL)';
  if (value.startsWith('/')) return undefined;
  const scheme = /^([a-z0-9]+):(.+)$/.exec(value);
  if (!scheme || !(SCHEMES as readonly string[]).includes(scheme[1]))
    return `must be an absolute path or a restic repository URL starting with ${SCHEMES.map((s) => `${s}:`).join(', ')}`;
  if (scheme[1] === 'local' && !scheme[2].startsWith('/')) return 'must name an absolute path after local:';
  // A password in the URL would be written into Terraform state and shown in every plan.
  // Case-insensitive: restic (Go's url.Parse) takes `rest:HTTPS://` as https.
  if (/^[a-z0-9]+:[a-z]+:\/\/[^/@]*:[^/@]*@/i.test(value) || /^[a-z0-9]+:\/\/[^/@]*:[^/@]*@/i.test(value))
    return 'must not hold a password (user:password@): give credentials in environmentFile, which stays on the host';
  return undefined;
}

/** A repository URL fit to show: a password in it (`user:password@`) replaced by `***`. */
export function redactRepositoryUrl(url: string): string {
  return url.replace(/^([a-z0-9]+:(?:[a-z]+:)?\/\/[^/@:]*):[^/@]*@/i, '$1:***@');
}

/** A restic extended option: `backend.option`, with a value on one line. */
export function resticOptionProblem(key: string, value: unknown): string | undefined {
  if (!/^[a-z0-9]+\.[a-z0-9._-]+$/.test(key))
    return `option ${JSON.stringify(key)} must be a restic extended option name (backend.option, for example sftp.command)`;
  if (typeof value !== 'string') return `option ${key} must be a string`;
  if (value.length > 1024 || CONTROL.test(value)) return `option ${key} must be one line of at most 1024 characters`;
  return undefined;
}

export function backupSnapshotRule(value: unknown): string | undefined {
  if (value === LATEST_BACKUP) return undefined;
  if (typeof value !== 'string' || !/^[0-9a-f]{8,64}$/.test(value))
    return `must be '${LATEST_BACKUP}' or a restic snapshot id (8 to 64 lowercase hex digits, as \`hoststore backup list\` shows)`;
  return undefined;
}

/** Every problem of a repository object (wire shape), each `field: rule`. */
export function backupRepositoryProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['must be an object'];
  const r = value as Record<string, unknown>;
  const problems: string[] = [];
  const known = new Set(['name', 'url', 'password_file', 'environment_file', 'options']);
  for (const key of Object.keys(r)) if (!known.has(key)) problems.push(`${key}: is not a field of a backup repository`);
  const check = (field: string, problem: string | undefined) => problem && problems.push(`${field}: ${problem}`);
  check('name', nameRule(r.name));
  check('url', repositoryUrlRule(r.url));
  check('password_file', absolutePathRule(r.password_file));
  if (r.environment_file !== undefined) check('environment_file', absolutePathRule(r.environment_file));
  if (r.options !== undefined) {
    if (typeof r.options !== 'object' || r.options === null || Array.isArray(r.options))
      problems.push('options: must be an object of strings');
    else for (const [key, option] of Object.entries(r.options)) check('options', resticOptionProblem(key, option));
  }
  return problems;
}

/** Canonical JSON (fixed key order, optional fields left out): the same repository is the same string. */
export function encodeRepository(repository: BackupRepositoryWire): string {
  return JSON.stringify(canonicalRepository(repository));
}

export function encodeFromBackup(from: FromBackupWire): string {
  return JSON.stringify({ repository: canonicalRepository(from.repository), snapshot: from.snapshot });
}

function canonicalRepository(r: BackupRepositoryWire): BackupRepositoryWire {
  const options =
    r.options && Object.keys(r.options).length
      ? Object.fromEntries(
          Object.keys(r.options)
            .sort()
            .map((k) => [k, (r.options as Record<string, string>)[k]]),
        )
      : undefined;
  return {
    name: r.name,
    url: r.url,
    password_file: r.password_file,
    ...(r.environment_file === undefined ? {} : { environment_file: r.environment_file }),
    ...(options ? { options } : {}),
  };
}

type Parsed<T> =
  { readonly value: T; readonly problem?: undefined } | { readonly value?: undefined; readonly problem: string };

function parseJson(text: unknown): Parsed<unknown> {
  if (typeof text !== 'string') return { problem: 'must be a string holding JSON' };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return { problem: 'must be JSON written by the constructs' };
  }
}

/** A `replicate_to` field: its repository, or the first problem. */
export function parseRepositoryField(text: unknown): Parsed<BackupRepositoryWire> {
  const json = parseJson(text);
  if (json.problem !== undefined) return json;
  const problems = backupRepositoryProblems(json.value);
  return problems.length ? { problem: problems[0] } : { value: json.value as BackupRepositoryWire };
}

/** A `from_backup` field: its repository and snapshot, or the first problem. */
export function parseFromBackupField(text: unknown): Parsed<FromBackupWire> {
  const json = parseJson(text);
  if (json.problem !== undefined) return json;
  const v = json.value as Record<string, unknown> | null;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { problem: 'must be an object' };
  for (const key of Object.keys(v))
    if (key !== 'repository' && key !== 'snapshot') return { problem: `${key}: is not a field of from_backup` };
  const problems = backupRepositoryProblems(v.repository).map((p) => `repository.${p}`);
  const snapshot = backupSnapshotRule(v.snapshot);
  if (snapshot) problems.push(`snapshot: ${snapshot}`);
  return problems.length ? { problem: problems[0] } : { value: v as unknown as FromBackupWire };
}
