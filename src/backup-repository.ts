/**
 * A BackupRepository names a restic repository off the host and the host files that open it. It renders
 * nothing itself: a SnapshotPolicy's `replicateTo` and a Volume's or Disk's `fromBackup` carry it.
 */
import { Construct } from 'constructs';
import {
  LATEST_BACKUP,
  backupSnapshotRule,
  repositoryUrlRule,
  resticOptionProblem,
  type BackupRepositoryWire,
} from './backup-spec.js';
import { absolutePathRule, nameRule } from './schema.js';
import { frameworkOf } from './framework.js';
import { StorageProject } from './storage-project.js';
import { Problems, type Rule } from './validation.js';
import { unknownPropProblems, type PropNames } from './known-props.js';

export interface BackupRepositoryProps {
  /**
   * Any restic repository URL: an absolute path, `local:`, `sftp:user@host:/path`, `rest:https://...`,
   * `s3:...`, `b2:`, `azure:`, `gs:`, `swift:`, `rclone:`. Never with a password in it (it would be in
   * Terraform state): credentials go in `environmentFile`.
   */
  readonly repository: string;
  /** Absolute path, on the storage host, of the file holding the repository's password (root-owned, mode 0600). Never the password itself. */
  readonly passwordFile: string;
  /**
   * Absolute path, on the storage host, of a file of `KEY=value` lines restic gets as its environment
   * (`AWS_ACCESS_KEY_ID=...` for s3:, and the like; root-owned, mode 0600). @default none
   */
  readonly environmentFile?: string;
  /** restic extended options (`-o key=value`), for example `{ 'sftp.command': 'ssh -i /root/.ssh/backup backup@host -s sftp' }`. @default none */
  readonly options?: Readonly<Record<string, string>>;
}

/** Which backup a new Volume or Disk is created from (`fromBackup`). */
export interface FromBackup {
  /** The repository to restore from (same StorageProject). */
  readonly repository: BackupRepository;
  /**
   * `'latest'`: the newest backup of storage of this name, kind and project; or one restic snapshot id
   * (8 to 64 lowercase hex digits, as `hoststore backup list` shows). @default 'latest'
   */
  readonly snapshot?: string;
}

const BACKUP_REPOSITORY_PROPS: PropNames<BackupRepositoryProps> = {
  repository: true,
  passwordFile: true,
  environmentFile: true,
  options: true,
};
export const FROM_BACKUP_PROPS: PropNames<FromBackup> = { repository: true, snapshot: true };

/**
 * Every prop is read-only: a repository is where backups already are. Its name (the construct id) is how
 * `hoststore backup ... --repository NAME` finds it on the host once a policy or storage using it converged.
 */
export class BackupRepository extends Construct {
  readonly project: StorageProject;
  /** The construct id: letters, digits and hyphens. */
  readonly name: string;
  readonly repository: string;
  readonly passwordFile: string;
  readonly environmentFile?: string;
  readonly options?: Readonly<Record<string, string>>;
  private readonly problems: Problems;

  constructor(scope: Construct, id: string, props: BackupRepositoryProps) {
    super(scope, id);
    props = props ?? ({} as BackupRepositoryProps);
    this.project = StorageProject.of(this);
    const framework = frameworkOf(this);
    this.name = id;
    this.repository = props.repository;
    this.passwordFile = props.passwordFile;
    this.environmentFile = props.environmentFile;
    this.options = props.options;
    const p = (this.problems = new Problems((v) => framework.Token.isUnresolved(v)));
    const isToken = (v: unknown) => framework.Token.isUnresolved(v);
    for (const problem of unknownPropProblems(props, BACKUP_REPOSITORY_PROPS, 'BackupRepository')) p.add(problem);
    p.check('id', id, nameRule);
    // A URL holding a password is refused without showing it: it would land in logs and CI output.
    checkHidden(p, isToken, 'repository', props.repository, repositoryUrlRule, (v, problem) =>
      /password/.test(problem) ? 'a URL holding a password, not shown' : undefined,
    );
    // Something other than a path where a path belongs may be the secret itself: never echoed.
    const notAPath = (v: unknown) =>
      typeof v === 'string' && !v.startsWith('/')
        ? 'a value that is not a path, not shown: it may be the secret itself'
        : undefined;
    checkHidden(p, isToken, 'passwordFile', props.passwordFile, secretPathRule('password'), notAPath);
    if (props.environmentFile !== undefined)
      checkHidden(p, isToken, 'environmentFile', props.environmentFile, secretPathRule('KEY=value lines'), notAPath);
    if (props.options !== undefined) {
      if (typeof props.options !== 'object' || props.options === null || Array.isArray(props.options))
        p.add(
          `\`options\` must be an object of restic extended options, such as { 'sftp.command': '...' } (got ${Array.isArray(props.options) ? 'an array' : typeof props.options})`,
        );
      else
        for (const [key, value] of Object.entries(props.options)) {
          if (isToken(value)) p.add(`\`options\` ${key} must be a literal string at synth (got a token)`);
          else {
            const problem = resticOptionProblem(key, value);
            if (problem) p.add(`\`options\` ${problem}`);
          }
        }
    }
    this.node.addValidation({ validate: () => [...this.problems.list, ...this.uniqueNameProblems()] });
  }

  /** @internal the repository as specs carry it (`replicate_to`, `from_backup`) */
  wire(): BackupRepositoryWire {
    return {
      name: this.name,
      url: this.repository,
      password_file: this.passwordFile,
      ...(this.environmentFile === undefined ? {} : { environment_file: this.environmentFile }),
      ...(this.options === undefined || Object.keys(this.options).length === 0 ? {} : { options: this.options }),
    };
  }

  /** The host records repositories by project and name: two of one name in a project would overwrite each other. */
  private uniqueNameProblems(): string[] {
    const twin = this.project.node
      .findAll()
      .find((c) => c !== this && c instanceof BackupRepository && c.project === this.project && c.name === this.name);
    return twin
      ? [
          `backup repository names must be unique in project '${this.project.name}' (the name finds it on the host): '${this.name}' is also used by ${twin.node.path}`,
        ]
      : [];
  }
}

/** A secret file's path: absolute and plain; the message says what the file holds. */
function secretPathRule(holds: string): Rule {
  return (v) => {
    const problem = absolutePathRule(v);
    return (
      problem &&
      `must be the absolute path of a file on the storage host holding the ${holds} (${problem}), never the secret itself`
    );
  };
}

/** Like Problems.check, but `hide` may replace the shown value (a secret pasted where its path belongs). */
function checkHidden(
  p: Problems,
  isToken: (v: unknown) => boolean,
  prop: string,
  value: unknown,
  rule: Rule,
  hide: (value: unknown, problem: string) => string | undefined,
): void {
  if (isToken(value)) {
    p.check(prop, value, rule);
    return;
  }
  const problem = rule(value);
  if (!problem) return;
  const hidden = hide(value, problem);
  if (hidden) p.add(`\`${prop}\` ${problem} (got ${hidden})`);
  else p.check(prop, value, rule);
}

/** Problems of a `fromBackup` prop against `project`, each one line naming `fromBackup.<field>`. */
export function fromBackupProblems(value: unknown, project: StorageProject): string[] {
  if (value === undefined) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return [
      `\`fromBackup\` must be an object such as { repository: offsite, snapshot: 'latest' } (got ${Array.isArray(value) ? 'an array' : (JSON.stringify(value) ?? typeof value)})`,
    ];
  const problems = unknownPropProblems(value, FROM_BACKUP_PROPS, '`fromBackup`', 'fromBackup.');
  const from = value as FromBackup;
  if (!(from.repository instanceof BackupRepository))
    problems.push(
      `\`fromBackup.repository\` must be a BackupRepository (got ${from.repository === undefined ? 'undefined' : typeof from.repository})`,
    );
  else if (from.repository.project !== project)
    problems.push(
      `\`fromBackup.repository\` must belong to the same StorageProject: ${from.repository.node.path} is in project '${from.repository.project.name}', this storage is in '${project.name}'; declare a BackupRepository in '${project.name}' (it may name the same repository)`,
    );
  const snapshot = from.snapshot ?? LATEST_BACKUP;
  const problem = backupSnapshotRule(snapshot);
  if (problem)
    problems.push(`\`fromBackup.snapshot\` ${problem} (got ${JSON.stringify(snapshot) ?? String(snapshot)})`);
  return problems;
}
