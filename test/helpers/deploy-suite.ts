/**
 * What deploy tests that make several deployments and roots share: a cron directory of the test's own
 * (Terraform's provisioners inherit HOSTSTORE_CRON_DIR: never the host's /etc/cron.d), everything made
 * removed after each test even when it fails, then a leak check (no loop device or mount left under any
 * root it made); and the models and probes they use.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { replicaHostPath } from '../../src/schema.js';
import { readMountTable } from '../../provider/host/mounts.js';
import { hostLoopsUnder, hostMountsUnder, makeHostFixture } from './host-fixture.js';
import type { StorageModel } from './cdktf-app.js';
import { deployment as makeDeployment, ok, type Deployment, type StepModel } from './deployment.js';

export interface DeploySuite {
  /** A deployment of stack `stack`, removed after the test. */
  deployment(stack?: string): Deployment;
  /** Another root (a project whose root changes), removed after the test. */
  otherRoot(): string;
  /** The test's cron directory. */
  cronDir(): string;
}

/** Registers the hooks (call at the top of a test file); `prefix` names the cron directories. */
export function deploySuite(prefix: string): DeploySuite {
  const cleanups: Array<() => void> = [];
  const roots: string[] = [];
  let cronDir = '';
  beforeEach(() => {
    cronDir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-cron-`));
    process.env.HOSTSTORE_CRON_DIR = cronDir;
  });
  afterEach(() => {
    const errors: unknown[] = [];
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    delete process.env.HOSTSTORE_CRON_DIR;
    fs.rmSync(cronDir, { recursive: true, force: true });
    // Leak check, from losetup and findmnt themselves.
    for (const root of roots.splice(0)) {
      expect(hostLoopsUnder(root)).toEqual([]);
      expect(hostMountsUnder(root)).toEqual([]);
    }
    if (errors.length) throw errors[0];
  });
  return {
    deployment(stack = 'rev') {
      const d = makeDeployment(stack);
      cleanups.push(() => d.cleanup());
      roots.push(d.root);
      return d;
    },
    otherRoot() {
      const host = makeHostFixture();
      cleanups.push(() => host.cleanup());
      roots.push(host.root);
      return host.root;
    },
    cronDir: () => cronDir,
  };
}

export type Policy = 'retain' | 'destroy' | 'snapshot';

/** A Volume `id` named `name` (shared: the host name is `name`), mounted by service `svc-<id>` at /data. */
export const vol = (id: string, name: string, removalPolicy: Policy = 'retain', extra: Partial<StorageModel> = {}) =>
  ({
    id,
    type: 'Volume',
    props: { sizeGb: 1, name, shared: true, removalPolicy },
    mounts: [{ id: `${id}-mount`, service: `svc-${id}`, mountPath: '/data' }],
    ...extra,
  }) as StorageModel;

/** A Disk `id` named `name`, mounted by service `svc-<id>` at /data. */
export const disk = (id: string, name: string, removalPolicy: Policy = 'retain') =>
  ({
    id,
    type: 'Disk',
    props: { sizeGb: 1, name, removalPolicy },
    mounts: [{ id: `${id}-mount`, service: `svc-${id}`, mountPath: '/data' }],
  }) as StorageModel;

export const svcPath = (root: string, service: string, mountPath = '/data', replica = 1, project = 'app') =>
  replicaHostPath(root, project, service, replica, mountPath);
export const mountedAt = (target: string) => readMountTable().some((e) => e.target === target);

/** The marker file in a service's /data (undefined when there is none). */
export const marker = (root: string, service: string, project = 'app') => {
  try {
    return fs.readFileSync(path.join(svcPath(root, service, '/data', 1, project), 'marker'), 'utf8');
  } catch {
    return undefined;
  }
};
export const mark = (root: string, service: string, text: string, project = 'app') =>
  fs.writeFileSync(path.join(svcPath(root, service, '/data', 1, project), 'marker'), text);

export const deployOk = (d: Deployment, model: StepModel) =>
  expect(ok(d.deploy(model))).toEqual({ status: 0, output: '' });

/** The address of the carrier whose name holds `part` (e.g. `app_a-mount_identity`). */
export function address(d: Deployment, part: string): string {
  const list = d.tf
    .run(['state', 'list'])
    .output.split('\n')
    .filter((l) => l.includes(part));
  if (list.length !== 1) throw new Error(`expected one carrier matching ${part}, got ${JSON.stringify(list)}`);
  return list[0];
}
