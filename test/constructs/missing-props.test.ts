/**
 * Required props left out (from JavaScript, or `as never` in TypeScript) and props of the wrong type: each is
 * a validation line naming the construct, the prop, the rule and the value, never a TypeError (issue 11: a
 * Disk without `name` crashed synth in the project's cross-construct checks).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, TerraformStack, Testing } from 'cdktf';
import { Disk, Mount, SnapshotPolicy, StorageProject, Volume } from '../../src/index.js';
import { errors, makeStack, type Build } from './synth-helpers.js';

const DISK_NAME_REQUIRED =
  "`name` is required for a Disk (disks are host-wide and found by name, so there is no default): set one, such as name: 'myapp-db' (got undefined)";

/** What synth without validations (a carrier's lazy value) says: one line, not a TypeError. */
function renderError(build: Build): string {
  try {
    Testing.synth(makeStack(build));
  } catch (error) {
    expect(error).not.toBeInstanceOf(TypeError);
    return (error as Error).message;
  }
  throw new Error('synth succeeded');
}

describe('a missing or mistyped required prop is reported, not a crash', () => {
  test.each<[string, Build, string[]]>([
    ['Disk without name', (p) => new Disk(p, 'd', { sizeGb: 1 } as never), [`[stack/proj/d] ${DISK_NAME_REQUIRED}`]],
    ['Disk without props', (p) => new Disk(p, 'd', undefined as never), [`[stack/proj/d] ${DISK_NAME_REQUIRED}`]],
    [
      'Disk with a number as name',
      (p) => new Disk(p, 'd', { name: 5, sizeGb: 1 } as never),
      ['[stack/proj/d] `name` must be a string (got 5)'],
    ],
    [
      'Volume with a number as name',
      (p) => new Volume(p, 'v', { name: 5, sizeGb: 1 } as never),
      ['[stack/proj/v] `name` must be a string (got 5)'],
    ],
    [
      'Volume without props',
      (p) => new Volume(p, 'v', undefined as never),
      ['[stack/proj/v] `sizeGb` must be a whole number from 1 to 500 (limits.maxVolumeSizeGb) (got undefined)'],
    ],
    [
      'Mount without mountPath next to another Mount of the service',
      (p) => {
        const v = new Volume(p, 'v', { sizeGb: 1, shared: true });
        new Mount(p, 'm', { storage: v, service: 's' } as never);
        new Mount(p, 'm2', { storage: v, service: 's', mountPath: '/x' });
      },
      ['[stack/proj/m] `mountPath` must be a string (got undefined)'],
    ],
    [
      'Mount without props',
      (p) => new Mount(p, 'm', undefined as never),
      [
        '[stack/proj/m] `storage` must be a Volume or Disk (got undefined)',
        '[stack/proj/m] `service` must be a string (got undefined)',
        '[stack/proj/m] `mountPath` must be a string (got undefined)',
      ],
    ],
    [
      'SnapshotPolicy without props',
      (p) => new SnapshotPolicy(p, 'n', undefined as never),
      [
        '[stack/proj/n] `storage` must be a Volume or Disk (got undefined)',
        '[stack/proj/n] `schedule` must be a string (got undefined)',
      ],
    ],
    [
      'SnapshotPolicy.hourly without props',
      (p) => SnapshotPolicy.hourly(p, 'n', undefined as never),
      ['[stack/proj/n] `storage` must be a Volume or Disk (got undefined)'],
    ],
  ])('%s', (_, build, lines) => {
    expect(errors(build)).toEqual(lines);
    expect(renderError(build)).toContain(lines[0].replace(/^\[[^\]]*\] /, ''));
  });

  test('app.synth() of a Disk without name fails with the line, not a TypeError', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoststore-missing-props-'));
    try {
      const app = new App({ outdir });
      const stack = new TerraformStack(app, 'stack');
      new Disk(new StorageProject(stack, 'proj'), 'd', { sizeGb: 1 } as never);
      expect(() => app.synth()).toThrow(DISK_NAME_REQUIRED);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
