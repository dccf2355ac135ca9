/**
 * `hoststore import PATH --name N`: an existing ext4 image or directory is moved (or copied) into the
 * root's layout and recorded as retained, after the checks an adopt makes; a stack declaring that name
 * then adopts it with its data. Every refusal leaves the source exactly as it was.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { replicaHostPath } from '../../src/schema.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { hoststore, hoststoreAsync } from '../helpers/cli.js';
import { synthModel } from '../helpers/synth-model.js';
import type { StorageModel } from '../helpers/cdktf-app.js';

let host: HostFixture;
let outside: HostFixture;
const outs: string[] = [];
beforeEach(() => {
  host = makeHostFixture();
  outside = makeHostFixture('hoststore-import-src-');
});
afterEach(() => {
  host.cleanup();
  outside.cleanup();
  for (const out of outs.splice(0)) fs.rmSync(out, { recursive: true, force: true });
});

const cli = (...args: string[]) => hoststore([...args, '--root', host.root]);

/** A 1 GiB sparse ext4 image holding `data.txt`, made without mounting it (mkfs.ext4 -d). */
function ext4Image(file: string, content = 'precious rows\n'): string {
  const seed = fs.mkdtempSync(path.join(outside.root, 'seed-'));
  fs.writeFileSync(path.join(seed, 'data.txt'), content);
  fs.closeSync(fs.openSync(file, 'w', 0o600));
  fs.truncateSync(file, 1024 ** 3);
  execFileSync('mkfs.ext4', ['-q', '-F', '-d', seed, file], { stdio: 'pipe' });
  fs.rmSync(seed, { recursive: true });
  return file;
}

/**
 * What must not change about a source a refusal leaves behind: its inode, mode, owner, size, times
 * (ctime moves on any write or chmod) and the head of its content (where mkfs puts the superblock).
 */
function fingerprint(file: string): string {
  const stat = fs.lstatSync(file, { bigint: true });
  let content = '';
  if (stat.isFile()) {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const head = Buffer.alloc(8 << 20);
    const read = fs.readSync(fd, head, 0, head.length, 0);
    fs.closeSync(fd);
    content = createHash('sha256').update(head.subarray(0, read)).digest('hex');
  } else if (stat.isDirectory()) content = fs.readdirSync(file).join(',');
  return `${stat.ino}:${stat.mode}:${stat.uid}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}:${content}`;
}

function apply(storage: StorageModel[]): string {
  const out = synthModel({ stack: 'eng', root: host.root, storage });
  outs.push(out);
  const applied = hoststore(['apply', '--app', out, '--auto-approve']);
  expect(applied).toMatchObject({ status: 0 });
  return applied.stdout;
}

hostTest('mkfs.ext4')(
  'an ext4 image is moved in, recorded retained, and a Disk of that name adopts it with its data',
  () => {
    // GIVEN an image holding data, outside the root, on the root's filesystem
    const image = ext4Image(outside.path('legacy.img'));
    const inode = fs.statSync(image).ino;
    // WHEN it is imported
    const imported = cli('import', image, '--name', 'legacy');
    // THEN it was moved (same inode, gone from where it was) and recorded as retained
    expect(imported).toMatchObject({
      status: 0,
      stdout: expect.stringMatching(
        /imported .*legacy\.img as disk legacy: moved to .*\/disks\/legacy\.img; declare a Disk named 'legacy' to adopt it/,
      ),
    });
    expect(fs.existsSync(image)).toBe(false);
    expect(fs.statSync(host.path('disks', 'legacy.img')).ino).toBe(inode);
    expect(JSON.parse(cli('list', '--json').stdout)).toMatchObject([
      { name: 'legacy', kind: 'disk', state: 'retained', filesystem: 'ext4', sizeGb: 1 },
    ]);
    // WHEN a stack declares a Disk named 'legacy' with a Mount
    const out = synthModel({
      stack: 'eng',
      root: host.root,
      storage: [
        {
          id: 'legacy',
          type: 'Disk',
          props: { name: 'legacy', sizeGb: 1 },
          mounts: [{ id: 'm', service: 'db', mountPath: '/data' }],
        },
      ],
    });
    outs.push(out);
    expect(hoststore(['plan', '--app', out]).stdout).toMatch(/<= adopt +disk legacy/);
    expect(hoststore(['apply', '--app', out, '--auto-approve'])).toMatchObject({ status: 0 });
    // THEN it was adopted, not reformatted: the data is there
    expect(fs.readFileSync(path.join(replicaHostPath(host.root, 'app', 'db', 1, '/data'), 'data.txt'), 'utf8')).toBe(
      'precious rows\n',
    );
    expect(fs.statSync(host.path('disks', 'legacy.img')).ino).toBe(inode);
  },
);

hostTest()('a directory is moved in as a directory volume of its project and adopted with its files', () => {
  const dir = outside.path('shared');
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'sub', 'file'), 'kept');
  expect(cli('import', dir, '--name', 'shared')).toMatchObject({
    status: 2,
    stderr: expect.stringMatching(/a directory belongs to a project: pass --project P/),
  });
  expect(cli('import', dir, '--name', 'shared', '--project', 'app')).toMatchObject({
    status: 0,
    stdout: expect.stringMatching(
      /as directory shared \(project app\): moved to .*\/projects\/app\/directories\/shared/,
    ),
  });
  expect(fs.existsSync(dir)).toBe(false);
  apply([
    {
      id: 'shared',
      type: 'Volume',
      props: { type: 'directory' },
      mounts: [{ id: 'm', service: 'web', mountPath: '/files' }],
    },
  ]);
  expect(fs.readFileSync(path.join(replicaHostPath(host.root, 'app', 'web', 1, '/files'), 'sub', 'file'), 'utf8')).toBe(
    'kept',
  );
});

hostTest('mkfs.ext4')('each refusal leaves the source as it was', () => {
  const image = ext4Image(outside.path('a.img'));
  const refused = (args: string[], why: RegExp, source: string) => {
    const before = fingerprint(source);
    expect(cli('import', ...args)).toMatchObject({ status: 3, stderr: expect.stringMatching(why) });
    expect(fingerprint(source)).toBe(before);
  };
  // a planted symlink
  const link = outside.path('link.img');
  fs.symlinkSync(image, link);
  refused([link, '--name', 'x'], /refusing to import .*link\.img: it is a symlink/, link);
  // not root's alone
  fs.chownSync(image, 1000, 1000);
  refused([image, '--name', 'x'], /it is owned by .*1000.*, not root.*chown root:root/, image);
  fs.chownSync(image, 0, 0);
  fs.chmodSync(image, 0o666);
  refused([image, '--name', 'x'], /it is writable by group or others/, image);
  fs.chmodSync(image, 0o600);
  // a second link to it
  fs.linkSync(image, outside.path('second-link.img'));
  refused([image, '--name', 'x'], /has 2 hard links/, image);
  fs.rmSync(outside.path('second-link.img'));
  // the wrong type
  const fifo = outside.path('fifo');
  execFileSync('mkfifo', ['-m', '600', fifo]);
  refused([fifo, '--name', 'x'], /it is not a regular file/, fifo);
  const blank = outside.path('blank.img');
  fs.writeFileSync(blank, Buffer.alloc(1 << 20), { mode: 0o600 });
  refused([blank, '--name', 'x'], /it holds no ext4, xfs or btrfs filesystem/, blank);
  const dir = outside.path('dir');
  fs.mkdirSync(dir, { mode: 0o755 });
  refused([dir, '--name', 'x', '--kind', 'disk'], /as a disk: it is a directory/, dir);
  // inside the root already
  expect(cli('import', image, '--name', 'taken')).toMatchObject({ status: 0 });
  const inRoot = host.path('disks', 'taken.img');
  refused([inRoot, '--name', 'other'], /is inside the root .* already/, inRoot);
  // a name already taken
  const second = ext4Image(outside.path('b.img'));
  refused([second, '--name', 'taken'], /disk taken already exists/, second);
  expect(cli('import', second, '--name', 'bad name')).toMatchObject({
    status: 2,
    stderr: expect.stringMatching(/--name "bad name" is not a storage name/),
  });
});

hostTest('mkfs.ext4')(
  'an image mounted elsewhere or open, or a directory with a mount inside, is refused',
  async () => {
    const image = ext4Image(outside.path('busy.img'));
    const target = outside.path('mnt');
    fs.mkdirSync(target);
    execFileSync('mount', ['-o', 'loop', image, target]);
    try {
      expect(cli('import', image, '--name', 'busy')).toMatchObject({
        status: 3,
        stderr: expect.stringMatching(
          /is attached to \/dev\/loop\d+ and mounted at .*mnt; unmount and detach it first/,
        ),
      });
      // a directory with a filesystem mounted inside it
      expect(cli('import', outside.root, '--name', 'tree', '--project', 'app')).toMatchObject({
        status: 3,
        stderr: expect.stringMatching(/has a filesystem mounted inside it/),
      });
    } finally {
      execFileSync('umount', [target]);
    }
    // (the test's own mount wrote to it; from here on nothing may)
    const before = fingerprint(image);
    // a process holding it open
    const holder = spawn('bash', ['-c', `exec 3<"${image}"; echo ready; sleep 60`]);
    try {
      await new Promise((resolve) => holder.stdout.once('data', resolve));
      expect(cli('import', image, '--name', 'busy')).toMatchObject({
        status: 3,
        stderr: expect.stringMatching(/is in use by \d+ \((bash|sleep)\) fd 3; stop them first/),
      });
    } finally {
      holder.kill('SIGKILL');
    }
    expect(fingerprint(image)).toBe(before);
  },
);

hostTest('mkfs.ext4')('across filesystems it is refused unless --copy, which copies and leaves the original', () => {
  // GIVEN an image on another filesystem (a tmpfs)
  const other = outside.path('tmpfs');
  fs.mkdirSync(other);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1200m', 'tmpfs', other]);
  try {
    const image = ext4Image(path.join(other, 'far.img'));
    const before = fingerprint(image);
    expect(cli('import', image, '--name', 'far')).toMatchObject({
      status: 3,
      stderr: expect.stringMatching(/they are on different filesystems.*pass --copy/),
    });
    expect(fingerprint(image)).toBe(before);
    expect(cli('import', image, '--name', 'far', '--copy')).toMatchObject({
      status: 0,
      stdout: expect.stringMatching(/copied to .*\/disks\/far\.img/),
    });
    expect(fingerprint(image)).toBe(before);
    expect(execFileSync('cmp', [image, host.path('disks', 'far.img')]).length).toBe(0);
    expect(fs.readdirSync(host.path('disks'))).toEqual(['far.img']);
  } finally {
    execFileSync('umount', [other]);
  }
});

hostTest('mkfs.ext4')('a source written to while it is copied in is refused and nothing is imported', () => {
  const other = outside.path('tmpfs');
  fs.mkdirSync(other);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1200m', 'tmpfs', other]);
  try {
    const image = ext4Image(path.join(other, 'racy.img'));
    // GIVEN a cp that copies, then someone writes to the source before the import looks again
    const tools = fs.mkdtempSync(outside.path('tools-'));
    for (const tool of ['sync', 'losetup'])
      fs.symlinkSync(
        execFileSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(),
        path.join(tools, tool),
      );
    const realCp = execFileSync('bash', ['-c', 'command -v cp'], { encoding: 'utf8' }).trim();
    fs.writeFileSync(
      path.join(tools, 'cp'),
      `#!/bin/sh\n${realCp} "$@" && printf x | dd of="${image}" bs=1 seek=4096 conv=notrunc status=none\n`,
      { mode: 0o755 },
    );
    const result = hoststore(['import', image, '--name', 'racy', '--copy', '--root', host.root], undefined, {
      HOSTSTORE_TOOL_PATH: tools,
    });
    // THEN it is refused and neither the image nor its temporary is left in the root
    expect(result).toMatchObject({
      status: 3,
      stderr: expect.stringMatching(/was replaced or changed while being imported; nothing was imported/),
    });
    expect(fs.readdirSync(host.path('disks'))).toEqual([]);
    expect(JSON.parse(cli('list', '--json').stdout)).toEqual([]);
  } finally {
    execFileSync('umount', [other]);
  }
});

hostTest('mkfs.ext4')(
  "--copy copies the file that was checked even when a directory on the source's path is swapped meanwhile",
  () => {
    const other = outside.path('tmpfs');
    fs.mkdirSync(other);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2400m', 'tmpfs', other]);
    try {
      // GIVEN an image in a directory its user owns (chowned to root as the refusal says), and another
      // root-owned image (another tenant's) the user cannot read
      const vm = path.join(other, 'vm');
      fs.mkdirSync(vm);
      const image = ext4Image(path.join(vm, 'mine.img'), 'my rows\n');
      const secret = ext4Image(path.join(other, 'secret.img'), 'another tenant rows\n');
      fs.chownSync(vm, 65534, 65534);
      // AND a user who swaps the directory for one whose mine.img is a symlink to the secret while cp runs
      const tools = fs.mkdtempSync(outside.path('tools-'));
      for (const tool of ['sync', 'losetup'])
        fs.symlinkSync(
          execFileSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(),
          path.join(tools, tool),
        );
      const realCp = execFileSync('bash', ['-c', 'command -v cp'], { encoding: 'utf8' }).trim();
      fs.writeFileSync(
        path.join(tools, 'cp'),
        `#!/bin/sh\nmv ${vm} ${vm}-real && mkdir ${vm} && ln -s ${secret} ${vm}/mine.img\n` +
          `${realCp} "$@"; rc=$?\nrm -r ${vm} && mv ${vm}-real ${vm}\nexit $rc\n`,
        { mode: 0o755 },
      );
      const result = hoststore(['import', image, '--name', 'mine', '--copy', '--root', host.root], undefined, {
        HOSTSTORE_TOOL_PATH: tools,
      });
      // THEN what is in the root is the checked image, never the file the symlink named
      if (result.status === 0) {
        expect(execFileSync('cmp', [image, host.path('disks', 'mine.img')]).length).toBe(0);
      } else {
        expect(result).toMatchObject({ status: 3, stderr: expect.stringMatching(/nothing was imported/) });
        expect(fs.readdirSync(host.path('disks'))).toEqual([]);
      }
    } finally {
      execFileSync('umount', [other]);
    }
  },
);

hostTest('mkfs.ext4')(
  'an image open or mapped through another path (a bind mount, as a container sees it) is refused',
  async () => {
    const dir = outside.path('src');
    fs.mkdirSync(dir);
    const image = ext4Image(path.join(dir, 'busy.img'));
    const alias = outside.path('alias');
    fs.mkdirSync(alias);
    execFileSync('mount', ['--bind', dir, alias]);
    try {
      // GIVEN a process writing the image through the bind mount's path
      const holder = spawn('bash', ['-c', `exec 3<>"${alias}/busy.img"; echo ready; sleep 60`]);
      try {
        await new Promise((resolve) => holder.stdout.once('data', resolve));
        const before = fingerprint(image);
        // THEN the import refuses it, naming the process, and leaves it where it is
        expect(cli('import', image, '--name', 'busy')).toMatchObject({
          status: 3,
          stderr: expect.stringMatching(/is in use by \d+ \((bash|sleep)\) fd 3; stop them first/),
        });
        expect(fingerprint(image)).toBe(before);
      } finally {
        holder.kill('SIGKILL');
      }
      // AND so is one that maps it through that path (python's mmap keeps a descriptor of its own as well)
      const mapper = spawn('python3', [
        '-c',
        `import mmap,sys,time\nf=open("${alias}/busy.img","r+b")\nm=mmap.mmap(f.fileno(),4096)\nf.close()\nprint("ready",flush=True)\ntime.sleep(60)`,
      ]);
      try {
        await new Promise((resolve) => mapper.stdout.once('data', resolve));
        expect(cli('import', image, '--name', 'busy')).toMatchObject({
          status: 3,
          stderr: expect.stringMatching(/is in use by \d+ \(python3\) (fd \d+|maps); stop them first/),
        });
      } finally {
        mapper.kill('SIGKILL');
      }
    } finally {
      execFileSync('umount', [alias]);
    }
  },
);

hostTest('mkfs.ext4', 'losetup')(
  'an image attached and mounted through another path (a bind mount) is refused, not moved in',
  () => {
    const dir = outside.path('src');
    fs.mkdirSync(dir);
    const image = ext4Image(path.join(dir, 'busy.img'));
    const alias = outside.path('alias');
    fs.mkdirSync(alias);
    const target = outside.path('mnt');
    fs.mkdirSync(target);
    execFileSync('mount', ['--bind', dir, alias]);
    try {
      // GIVEN the image mounted through the bind mount's path (the loop device's backing file names that path)
      execFileSync('mount', ['-o', 'loop', path.join(alias, 'busy.img'), target]);
      try {
        // THEN the import refuses it: moved in and adopted, it would be mounted twice
        expect(cli('import', image, '--name', 'busy')).toMatchObject({
          status: 3,
          stderr: expect.stringMatching(
            /is attached to \/dev\/loop\d+ and mounted at .*mnt; unmount and detach it first/,
          ),
        });
        expect(fs.existsSync(image)).toBe(true);
      } finally {
        execFileSync('umount', [target]);
      }
    } finally {
      execFileSync('umount', [alias]);
    }
  },
);

test('a source named with control characters or shell syntax is shown escaped, and the hint quotes it', () => {
  // GIVEN a file in a user's directory whose name clears the screen, forges a line and ends a shell command
  const source = outside.path(`vm; touch PWNED #\x1b[2J\x1b]0;title\x07\nhoststore: imported OK.img`);
  fs.writeFileSync(source, '');
  fs.chownSync(source, 65534, 65534);
  const result = cli('import', source, '--name', 'x');
  // THEN the refusal is one line with no control character in it
  expect(result.status).toBe(3);
  expect(result.stderr.trimEnd()).not.toMatch(/[\x00-\x1f\x7f]/);
  // AND the command it suggests names exactly that file as one shell word
  const word = /then: chown root:root (.*) && chmod go-w /.exec(result.stderr)?.[1] ?? '';
  expect(execFileSync('bash', ['-c', `printf %s ${word}`], { encoding: 'utf8', cwd: outside.root })).toBe(source);
  expect(fs.existsSync(outside.path('PWNED'))).toBe(false);
});

hostTest('mkfs.ext4')(
  "storage inside another hoststore root is refused, naming that root: it is that root's to move",
  () => {
    // GIVEN another root holding a disk and a directory volume (made by that root's own import)
    const rootA = makeHostFixture('hoststore-import-other-root-');
    try {
      const image = ext4Image(outside.path('data.img'));
      expect(hoststore(['import', image, '--name', 'data', '--root', rootA.root])).toMatchObject({ status: 0 });
      const dir = outside.path('files');
      fs.mkdirSync(dir, { mode: 0o755 });
      expect(hoststore(['import', dir, '--name', 'files', '--project', 'app', '--root', rootA.root])).toMatchObject({
        status: 0,
      });
      const managed = rootA.path('disks', 'data.img');
      const managedDir = rootA.path('projects', 'app', 'directories', 'files');
      // WHEN this root is asked to import them (or that whole root)
      for (const [source, extra] of [
        [managed, []],
        [managedDir, ['--project', 'app']],
        [rootA.root, ['--project', 'app']],
      ] as const) {
        const before = fingerprint(source);
        // THEN it is refused, naming that root and its own commands, and left where it is
        expect(cli('import', source, '--name', 'stolen', ...extra)).toMatchObject({
          status: 3,
          stderr: expect.stringMatching(
            new RegExp(
              `refusing to import .*: it (lies inside|is) the hoststore root ${rootA.root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*snapshot restore .*--to.*delete`,
            ),
          ),
        });
        expect(fingerprint(source)).toBe(before);
      }
      expect(hoststore(['list', '--root', rootA.root]).stdout).not.toMatch(/missing/);
      expect(JSON.parse(cli('list', '--json').stdout)).toEqual([]);
    } finally {
      rootA.cleanup();
    }
  },
);

hostTest()('a directory that is (or holds) the source of a bind mount elsewhere is refused, not moved in', () => {
  // GIVEN a directory bind-mounted at another path, and one whose subdirectory is
  const dir = outside.path('shared');
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true, mode: 0o755 });
  const view = outside.path('view');
  fs.mkdirSync(view);
  for (const [source, bound] of [
    [dir, dir],
    [dir, path.join(dir, 'sub')],
  ]) {
    execFileSync('mount', ['--bind', bound, view]);
    try {
      const before = fingerprint(source);
      // THEN the import refuses it (writes through the view would land inside the root), naming the view
      expect(cli('import', source, '--name', 'shared', '--project', 'app')).toMatchObject({
        status: 3,
        stderr: expect.stringMatching(
          /refusing to import .*shared: (it|its sub) is bind-mounted at .*view, so writes there would land in the root once it is moved in; unmount that first/,
        ),
      });
      expect(fingerprint(source)).toBe(before);
    } finally {
      execFileSync('umount', [view]);
    }
  }
  // AND with the bind mount gone it is imported
  expect(cli('import', dir, '--name', 'shared', '--project', 'app')).toMatchObject({ status: 0 });
});

hostTest('mkfs.ext4')('an image bind-mounted onto another file is refused, not moved in', () => {
  const image = ext4Image(outside.path('bound.img'));
  const view = outside.path('view.img');
  fs.writeFileSync(view, '');
  execFileSync('mount', ['--bind', image, view]);
  try {
    expect(cli('import', image, '--name', 'bound')).toMatchObject({
      status: 3,
      stderr: expect.stringMatching(
        /refusing to import .*bound\.img: it is bind-mounted at .*view\.img, .*; unmount that first/,
      ),
    });
    expect(fs.existsSync(image)).toBe(true);
  } finally {
    execFileSync('umount', [view]);
  }
});

hostTest('mkfs.ext4')('a --copy killed with SIGKILL leaves a temporary that the next up removes', async () => {
  const other = outside.path('tmpfs');
  fs.mkdirSync(other);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1200m', 'tmpfs', other]);
  try {
    const image = ext4Image(path.join(other, 'killed.img'));
    // GIVEN a cp that copies, says so, then hangs, so the import can be killed mid-copy
    const tools = fs.mkdtempSync(outside.path('tools-'));
    for (const tool of ['sync', 'losetup'])
      fs.symlinkSync(
        execFileSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(),
        path.join(tools, tool),
      );
    const realCp = execFileSync('bash', ['-c', 'command -v cp'], { encoding: 'utf8' }).trim();
    const copied = outside.path('copied');
    fs.writeFileSync(path.join(tools, 'cp'), `#!/bin/sh\n${realCp} "$@" && echo $$ > "${copied}" && exec sleep 60\n`, {
      mode: 0o755,
    });
    const { child, done } = hoststoreAsync(
      ['import', image, '--name', 'killed', '--copy', '--root', host.root],
      undefined,
      {
        HOSTSTORE_TOOL_PATH: tools,
      },
    );
    try {
      while ((!fs.existsSync(copied) || fs.readFileSync(copied, 'utf8') === '') && child.exitCode === null)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGKILL');
      await done;
      const cp = fs.existsSync(copied) ? Number(fs.readFileSync(copied, 'utf8')) : 0;
      if (cp > 0) process.kill(cp, 'SIGKILL');
    }
    // WHEN the importer was killed, its temporary is left behind
    expect(fs.readdirSync(host.path('disks')).filter((f) => f.endsWith('.importing'))).toHaveLength(1);
    // THEN the next up removes it (its importer is gone), and an import of that name works
    expect(cli('up')).toMatchObject({ status: 0 });
    expect(fs.readdirSync(host.path('disks'))).toEqual([]);
    expect(cli('import', image, '--name', 'killed', '--copy')).toMatchObject({ status: 0 });
    expect(fs.readdirSync(host.path('disks'))).toEqual(['killed.img']);
  } finally {
    execFileSync('umount', [other]);
  }
});

hostTest('mkfs.ext4')(
  "an import removes temporaries killed imports left (under the lock every one is stale); up keeps a live importer's",
  () => {
    // GIVEN a root with temporaries: one an older hoststore named without a pid, one of a live process
    expect(cli('import', ext4Image(outside.path('first.img')), '--name', 'first')).toMatchObject({ status: 0 });
    const legacy = host.path('disks', 'old.img.importing');
    fs.writeFileSync(legacy, 'partial', { mode: 0o600 });
    const live = host.path('disks', `busy.img.${process.pid}.importing`);
    fs.writeFileSync(live, 'partial', { mode: 0o600 });
    // THEN up removes neither (the one's importer is running, the other's cannot be told)
    expect(cli('up')).toMatchObject({ status: 0 });
    expect(fs.existsSync(legacy) && fs.existsSync(live)).toBe(true);
    // AND an import, which holds the lock every import holds, removes both
    expect(cli('import', ext4Image(outside.path('second.img')), '--name', 'second')).toMatchObject({ status: 0 });
    expect(fs.readdirSync(host.path('disks')).sort()).toEqual(['first.img', 'second.img']);
  },
);
