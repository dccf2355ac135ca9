import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  bindMount,
  isMountpoint,
  mountAt,
  parseMountInfo,
  readMountTable,
  remount,
  safeMountTarget,
  unmount,
} from '../../provider/host/mounts.js';
import { CommandError, run } from '../../provider/exec.js';
import { hostMountsUnder, hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => {
  const root = host.root;
  host.cleanup();
  expect(hostMountsUnder(root)).toEqual([]);
});

async function tmpfsAt(target: string): Promise<void> {
  await run('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'hoststore-test', target]);
}

test('parseMountInfo reads every field, optional fields and octal escapes', () => {
  const text = [
    '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    '101 22 0:55 /sub\\040dir /mnt/with\\040space\\011tab\\134back ro,nosuid master:2 shared:7 - tmpfs my\\040src rw,size=8192k',
    '102 22 7:3 / /x rw - xfs /dev/loop3 rw,attr2,inode64',
    '',
  ].join('\n');
  const [root, spaced, xfs] = parseMountInfo(text);
  expect(root).toEqual({
    id: 22,
    parentId: 1,
    majorMinor: '254:0',
    root: '/',
    target: '/',
    options: 'rw,relatime',
    readOnly: false,
    fstype: 'ext4',
    source: '/dev/vda',
    superOptions: 'rw',
  });
  expect(spaced).toMatchObject({
    id: 101,
    parentId: 22,
    majorMinor: '0:55',
    root: '/sub dir',
    target: '/mnt/with space\ttab\\back',
    options: 'ro,nosuid',
    readOnly: true,
    fstype: 'tmpfs',
    source: 'my src',
    superOptions: 'rw,size=8192k',
  });
  expect(xfs).toMatchObject({ target: '/x', source: '/dev/loop3', fstype: 'xfs', readOnly: false });
});

hostTest()('a real mount at a path with a space is found in the live table, decoded', async () => {
  const target = await safeMountTarget(host.root, path.join(host.root, 'with space', 'and\ttab'));
  expect(isMountpoint(target)).toBe(false);
  await tmpfsAt(target);
  const entry = mountAt(target);
  expect(entry).toMatchObject({ target, fstype: 'tmpfs', source: 'hoststore-test', readOnly: false });
  expect(readMountTable().filter((e) => e.target === target)).toHaveLength(1);
  expect(hostMountsUnder(host.root)).toEqual([target]);
  await unmount(target);
  expect(isMountpoint(target)).toBe(false);
  await unmount(target); // not mounted: succeeds
});

hostTest()('a read-only bind is read-only at once, the source stays writable, and remount toggles it', async () => {
  // GIVEN a writable filesystem with a file
  const source = await safeMountTarget(host.root, host.path('src'));
  await tmpfsAt(source);
  fs.writeFileSync(path.join(source, 'f'), 'one');
  const bind = await safeMountTarget(host.root, host.path('replica', 'data'));
  // WHEN it is bound read-only
  await bindMount(source, bind, { readOnly: true });
  // THEN the bind is ro (no writable window is checked here, but the entry says ro), the source is rw
  expect(mountAt(bind)).toMatchObject({ readOnly: true, fstype: 'tmpfs' });
  expect(fs.readFileSync(path.join(bind, 'f'), 'utf8')).toBe('one');
  expect(() => fs.writeFileSync(path.join(bind, 'g'), 'x')).toThrow(/EROFS/);
  fs.writeFileSync(path.join(source, 'g'), 'via source');
  expect(fs.readFileSync(path.join(bind, 'g'), 'utf8')).toBe('via source');
  // WHEN toggled to rw and back (per-mount flag only)
  await remount(bind, { readOnly: false, bind: true });
  expect(mountAt(bind)?.readOnly).toBe(false);
  fs.writeFileSync(path.join(bind, 'h'), 'via bind');
  await remount(bind, { readOnly: true, bind: true });
  expect(mountAt(bind)?.readOnly).toBe(true);
  expect(mountAt(source)?.readOnly).toBe(false);
  await unmount(bind);
  expect(isMountpoint(bind)).toBe(false);
  expect(fs.readFileSync(path.join(source, 'h'), 'utf8')).toBe('via bind');
});

hostTest()("mounting over a missing directory fails with a CommandError carrying mount(8)'s message", async () => {
  const error = (await bindMount(host.root, host.path('missing'), { readOnly: false }).catch(
    (e: unknown) => e,
  )) as CommandError;
  expect(error).toBeInstanceOf(CommandError);
  expect(error.message).toMatch(/^mount failed: mount: .*missing/);
  expect(error.commandExitCode).toBe(32);
  expect(error.detail).toMatch(/exit code: 32/);
});

describe('safeMountTarget', () => {
  test('creates missing directories one by one and returns the absolute target', async () => {
    const target = await safeMountTarget(host.root, 'projects/p/services/web/1/data');
    expect(target).toBe(host.path('projects/p/services/web/1/data'));
    expect(fs.statSync(target).isDirectory()).toBe(true);
    // Existing directories are fine (idempotent).
    expect(await safeMountTarget(host.root, target)).toBe(target);
  });

  test('refuses a target whose parent is a symlink, and creates nothing through it', async () => {
    const outside = fs.mkdtempSync(path.join(path.dirname(host.root), 'hoststore-outside-'));
    try {
      fs.mkdirSync(host.path('projects'));
      fs.symlinkSync(outside, host.path('projects', 'p'));
      await expect(safeMountTarget(host.root, host.path('projects/p/services/web/1/data'))).rejects.toThrow(
        `refusing to mount at ${host.path('projects/p/services/web/1/data')}: ${host.path('projects/p')} is a symlink (to ${outside}); hoststore only mounts on real directories inside its root`,
      );
      expect(fs.readdirSync(outside)).toEqual([]);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  test('refuses a target that is itself a symlink, even to a directory inside the root', async () => {
    fs.mkdirSync(host.path('real'));
    fs.symlinkSync(host.path('real'), host.path('link'));
    await expect(safeMountTarget(host.root, host.path('link'))).rejects.toMatchObject({
      exitCode: 3,
      message: expect.stringMatching(/link is a symlink/),
    });
  });

  test('refuses a dangling symlink and a file in the way', async () => {
    fs.symlinkSync('/etc/nonexistent', host.path('dangling'));
    await expect(safeMountTarget(host.root, host.path('dangling', 'x'))).rejects.toThrow(/is a symlink/);
    fs.writeFileSync(host.path('file'), '');
    await expect(safeMountTarget(host.root, host.path('file', 'x'))).rejects.toThrow(/file is not a directory/);
  });

  test('refuses targets that escape the root or are the root', async () => {
    for (const target of [host.path('..', 'etc'), '/etc', host.path('a/../../x'), host.root, '..']) {
      await expect(safeMountTarget(host.root, target)).rejects.toThrow(/is not inside the root/);
    }
    // A name that merely starts with dots is inside.
    expect(await safeMountTarget(host.root, host.path('..data'))).toBe(host.path('..data'));
  });
});
