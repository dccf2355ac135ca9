/**
 * The checks before a backup repository is used (provider/backup/preflight.ts): restic present, and the
 * password and environment files root's alone. Each case is planted on a real file under a temp dir.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  RESTIC_MISSING,
  findRestic,
  repositoryPreflight,
  resticMissing,
  secretFileProblem,
} from '../../provider/backup/preflight.js';

const NOBODY = 65534;
const WHAT = "backup repository offsite's password file";
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-preflight-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A secret file the way it should be: root's, 0600. */
function secret(name = 'offsite.pass', content = 'not-a-real-secret\n'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content, { mode: 0o600 });
  return file;
}

describe('secretFileProblem', () => {
  test('a root-owned 0600 file under root-only directories passes', () => {
    expect(secretFileProblem(secret(), WHAT)).toBeUndefined();
  });

  test('a missing file is named, with the fix', () => {
    const file = path.join(dir, 'absent.pass');
    expect(secretFileProblem(file, WHAT)).toBe(
      `${WHAT} ${file} does not exist on this host; fix: create it (owned by root, mode 0600) or correct the path`,
    );
  });

  test('a planted symlink is refused even when its target is a good secret file', () => {
    const target = secret();
    const link = path.join(dir, 'link.pass');
    fs.symlinkSync(target, link);
    expect(secretFileProblem(link, WHAT)).toBe(
      `${WHAT} ${link} is a symlink (to ${target}), and hoststore follows none to a secret; fix: put the file itself at ${link} (owned by root, mode 0600)`,
    );
  });

  test('a directory is not a secret file', () => {
    const sub = path.join(dir, 'sub');
    fs.mkdirSync(sub, { mode: 0o700 });
    expect(secretFileProblem(sub, WHAT)).toMatch(/is not a regular file/);
  });

  test('a file owned by nobody is refused', () => {
    const file = secret();
    fs.chownSync(file, NOBODY, NOBODY);
    expect(secretFileProblem(file, WHAT)).toBe(
      `${WHAT} ${file} is owned by nobody (uid ${NOBODY}), not root (mode 0600), so someone other than root holds the secret; fix: chown root:root ${file} && chmod 600 ${file}`,
    );
  });

  test.each(['0640', '0604', '0620', '0601', '0610'])('mode %s (group or others have access) is refused', (shown) => {
    const file = secret();
    fs.chmodSync(file, parseInt(shown, 8));
    expect(secretFileProblem(file, WHAT)).toBe(
      `${WHAT} ${file} is open to group or others (mode ${shown}), so others could read the secret; fix: chmod 600 ${file}`,
    );
  });

  test.each(['0600', '0400', '0700'])('mode %s (root only) passes', (mode) => {
    const file = secret();
    fs.chmodSync(file, parseInt(mode, 8));
    expect(secretFileProblem(file, WHAT)).toBeUndefined();
  });

  test('a group-writable directory above is refused: someone else could swap the file', () => {
    const sub = path.join(dir, 'etc');
    fs.mkdirSync(sub, { mode: 0o700 });
    const file = path.join(sub, 'offsite.pass');
    fs.writeFileSync(file, 'x', { mode: 0o600 });
    fs.chmodSync(sub, 0o770);
    expect(secretFileProblem(file, WHAT)).toBe(
      `${WHAT} ${file} could be replaced by someone other than root: the directory ${sub} above it is writable by group or others (owner root (uid 0), mode 0770); fix: chown root:root ${sub} && chmod go-w ${sub}`,
    );
  });

  test('a directory above owned by nobody is refused', () => {
    const sub = path.join(dir, 'etc');
    fs.mkdirSync(sub, { mode: 0o755 });
    const file = path.join(sub, 'offsite.pass');
    fs.writeFileSync(file, 'x', { mode: 0o600 });
    fs.chownSync(sub, NOBODY, NOBODY);
    expect(secretFileProblem(file, WHAT)).toMatch(
      new RegExp(
        `the directory ${sub} above it is not owned by root \\(owner nobody \\(uid ${NOBODY}\\), mode 0755\\)`,
      ),
    );
  });

  test('a symlinked directory on the way is judged by where it leads', () => {
    // GIVEN a directory others can write, reached through a root-owned symlink in a root-only directory
    const open = path.join(dir, 'open');
    fs.mkdirSync(open, { mode: 0o755 });
    fs.chmodSync(open, 0o777);
    fs.writeFileSync(path.join(open, 'offsite.pass'), 'x', { mode: 0o600 });
    fs.symlinkSync(open, path.join(dir, 'via'));
    // THEN the real directory is what is judged
    expect(secretFileProblem(path.join(dir, 'via', 'offsite.pass'), WHAT)).toMatch(
      new RegExp(`the directory ${open} above it is writable by group or others`),
    );
  });
});

describe('resticMissing', () => {
  test('restic on PATH is found (restic 0.14 is installed on this host)', () => {
    expect(resticMissing()).toBeUndefined();
  });

  test('a PATH without restic names the package', () => {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    expect(resticMissing(`${bin}:/nonexistent`)).toBe(RESTIC_MISSING);
    expect(RESTIC_MISSING).toBe(
      'restic is not installed on this host: install the Debian package restic (apt-get install restic)',
    );
  });

  test('a file named restic that is not executable, or a relative PATH entry, does not count', () => {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'restic'), '#!/bin/sh\n', { mode: 0o644 });
    expect(resticMissing(bin)).toBe(RESTIC_MISSING);
    fs.chmodSync(path.join(bin, 'restic'), 0o755);
    expect(resticMissing(bin)).toBeUndefined();
    expect(findRestic(`/nonexistent:${bin}:/usr/bin`)).toBe(path.join(bin, 'restic'));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(resticMissing('bin:.')).toBe(RESTIC_MISSING);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('repositoryPreflight', () => {
  test('all well: no problems, for a record and for a wire repository alike', () => {
    const password = secret();
    const environment = secret('offsite.env', 'AWS_ACCESS_KEY_ID=x\n');
    expect(repositoryPreflight({ name: 'offsite', passwordFile: password, environmentFile: environment })).toEqual([]);
    expect(repositoryPreflight({ name: 'offsite', password_file: password, environment_file: environment })).toEqual(
      [],
    );
  });

  test('every problem is listed, one line each: restic missing, password file, environment file', () => {
    const password = secret();
    fs.chmodSync(password, 0o644);
    const environment = path.join(dir, 'offsite.env');
    const problems = repositoryPreflight(
      { name: 'offsite', password_file: password, environment_file: environment },
      '/nonexistent',
    );
    expect(problems).toEqual([
      RESTIC_MISSING,
      `backup repository offsite's password file ${password} is open to group or others (mode 0644), so others could read the secret; fix: chmod 600 ${password}`,
      `backup repository offsite's environment file ${environment} does not exist on this host; fix: create it (owned by root, mode 0600) or correct the path`,
    ]);
    for (const line of problems) expect(line).not.toMatch(/\n/);
  });

  test('no secret ever appears in a problem line', () => {
    const password = secret('offsite.pass', 'hunter2-SECRET');
    fs.chmodSync(password, 0o644);
    const problems = repositoryPreflight({ name: 'offsite', passwordFile: password });
    expect(problems.join('\n')).not.toMatch(/hunter2/);
  });
});
