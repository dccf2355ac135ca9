/**
 * A throwaway cdktf app in a temporary directory, built from the compiled library, that tests deploy
 * with the real `cdktf` CLI and `terraform`. The stack is described by a small JSON model so each test
 * step can change one field and deploy again.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CDKTF = path.join(REPO, 'node_modules', '.bin', 'cdktf');

export interface StorageModel {
  readonly id: string;
  readonly type: 'Volume' | 'Disk';
  readonly props: Record<string, unknown>;
  readonly mounts?: Array<{ id: string; service: string; mountPath: string; replicas?: number; readOnly?: boolean }>;
  readonly policy?: { id: string; schedule: string; retentionDays?: number };
}

export interface AppModel {
  readonly stack: string;
  readonly root: string;
  readonly carrier?: 'terraform_data' | 'null_resource';
  /** The command the provisioners run (StorageProject's `cli`); this package's CLI when absent. */
  readonly cli?: string;
  /** The StorageProject's `host` (a remote project); local when absent. */
  readonly host?: object;
  /** The StorageProject's `name`; the construct id ('app') when absent. */
  readonly projectName?: string;
  readonly storage: StorageModel[];
}

/** The app's code, importing the constructs from the repository at `repo`. */
const appSource = (repo: string) => `
import { App, TerraformStack } from 'cdktf';
import * as fs from 'node:fs';
import { StorageProject, Volume, Disk, Mount, SnapshotPolicy } from ${JSON.stringify(path.join(repo, 'dist/src/index.js'))};
const model = JSON.parse(fs.readFileSync(new URL('./model.json', import.meta.url), 'utf8'));
const app = new App();
const stack = new TerraformStack(app, model.stack);
const project = new StorageProject(stack, 'app', {
  root: model.root,
  carrier: model.carrier,
  cli: model.cli,
  ...(model.projectName ? { name: model.projectName } : {}),
  ...(model.host ? { host: model.host } : {}),
});
for (const s of model.storage) {
  const storage = s.type === 'Disk' ? new Disk(project, s.id, s.props) : new Volume(project, s.id, s.props);
  for (const { id, ...m } of s.mounts ?? []) new Mount(project, id, { storage, ...m });
  if (s.policy) {
    const { id, ...policy } = s.policy;
    new SnapshotPolicy(project, id, { storage, ...policy });
  }
}
app.synth();
`;

export class CdktfApp {
  readonly dir: string;

  /** `repo`: where the app finds this package's build and node_modules (another path to them, for another user). */
  constructor(repo: string = REPO) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-app-'));
    // The app resolves 'cdktf' from the repository's node_modules, like a project that installed us.
    fs.symlinkSync(path.join(repo, 'node_modules'), path.join(this.dir, 'node_modules'));
    fs.writeFileSync(path.join(this.dir, 'app.mjs'), appSource(repo));
    fs.writeFileSync(
      path.join(this.dir, 'cdktf.json'),
      JSON.stringify({
        language: 'typescript',
        app: 'node app.mjs',
        terraformProviders: [],
        sendCrashReports: 'false',
      }),
    );
  }

  write(model: AppModel): void {
    fs.writeFileSync(path.join(this.dir, 'model.json'), JSON.stringify(model));
  }

  /** Runs `cdktf <command> --auto-approve` and returns its output; throws with the output on failure. */
  cdktf(...args: string[]): string {
    const result = spawnSync(CDKTF, args, {
      cwd: this.dir,
      encoding: 'utf8',
      timeout: 300_000,
      // Cron entries of the app's policies go to its own directory, never the host's /etc/cron.d.
      env: {
        ...process.env,
        HOSTSTORE_CRON_DIR: path.join(this.dir, 'cron.d'),
        CHECKPOINT_DISABLE: '1',
        CI: '1',
        FORCE_COLOR: '0',
        NO_COLOR: '1',
      },
    });
    const output = `${result.stdout}\n${result.stderr}`;
    if (result.status !== 0)
      throw new Error(`cdktf ${args.join(' ')} failed (${result.status}):\n${output.slice(-4000)}`);
    return output;
  }

  synthJson(stack: string): { resource: Record<string, Record<string, any>> } {
    this.cdktf('synth');
    return JSON.parse(fs.readFileSync(path.join(this.dir, 'cdktf.out', 'stacks', stack, 'cdk.tf.json'), 'utf8'));
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function terraformAvailable(): boolean {
  return spawnSync('terraform', ['version'], { encoding: 'utf8' }).status === 0;
}
