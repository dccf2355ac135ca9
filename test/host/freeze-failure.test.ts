/** A freeze whose command fails after the kernel froze the filesystem (a timeout, a crash) still ends thawed. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { GiB, createSparseImage } from '../../provider/host/image.js';
import { formatImage } from '../../provider/host/filesystem.js';
import { attachLoop } from '../../provider/host/loop.js';
import { mountDevice, safeMountTarget } from '../../provider/host/mounts.js';
import { withFrozen } from '../../provider/host/freeze.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => {
  delete process.env.HOSTSTORE_TOOL_PATH;
  // Thaw first whatever happened, so cleanup can unmount.
  spawnSync('fsfreeze', ['--unfreeze', host.path('m')], { stdio: 'ignore' });
  host.cleanup();
});

hostTest('fsfreeze', 'mkfs.ext4')(
  'a freeze command that fails after freezing leaves the filesystem thawed',
  async () => {
    const image = host.path('f.img');
    await createSparseImage(image, GiB);
    await formatImage(image, 'ext4', 'f');
    const { device } = await attachLoop(image);
    const target = await safeMountTarget(host.root, host.path('m'));
    await mountDevice(device, target, 'ext4', { readOnly: false });
    // GIVEN an fsfreeze that freezes, then fails (as one killed by its timeout after the ioctl would)
    const real = execFileSync('bash', ['-c', 'command -v fsfreeze'], { encoding: 'utf8' }).trim();
    const tools = fs.mkdtempSync(path.join(host.root, 'tools-'));
    fs.writeFileSync(
      path.join(tools, 'fsfreeze'),
      `#!/bin/sh\n${real} "$@" || exit $?\n[ "$1" = --freeze ] && { echo "fsfreeze: simulated failure after freezing" >&2; exit 1; }\nexit 0\n`,
      { mode: 0o755 },
    );
    process.env.HOSTSTORE_TOOL_PATH = tools;
    // WHEN a frozen capture is attempted
    await expect(withFrozen(target, async () => 'never')).rejects.toThrow(/simulated failure after freezing/);
    // THEN a write completes within seconds (the filesystem is not left frozen; if it is, the test thaws it)
    const child = spawn('sh', ['-c', 'echo x > "$1" && sync "$1"', 'sh', path.join(target, 'after')], {
      stdio: 'ignore',
    });
    const finished = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5000);
      child.on('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!finished) spawnSync('fsfreeze', ['--unfreeze', target], { stdio: 'ignore' });
    expect(finished).toBe(true);
  },
);
