/**
 * The README's step 1 of "Losing a host" gives the command that puts the repository's password on a host.
 * Copied as it is onto a fresh host (no /etc/hoststore yet), it must leave a root-only password file, not
 * fail with `install: cannot create regular file ... No such file or directory`.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const README = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../README.md');

test("the README's password-file command works on a host without /etc/hoststore", () => {
  const text = fs.readFileSync(README, 'utf8');
  const commands = [...text.matchAll(/`([^`]*\/dev\/stdin \/etc\/hoststore\/offsite\.pass[^`]*)`/g)].map((m) => m[1]);
  expect(commands).toHaveLength(1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-readme-pass-'));
  try {
    const etc = path.join(dir, 'etc-hoststore'); // stands for /etc/hoststore, which a fresh host lacks
    // stdin from a file, as a terminal or `< file` gives it (node's own pipes are sockets, which /dev/stdin cannot open)
    fs.writeFileSync(path.join(dir, 'typed'), 'secret\n');
    const stdin = fs.openSync(path.join(dir, 'typed'), 'r');
    try {
      execFileSync('bash', ['-ec', commands[0].replaceAll('/etc/hoststore', etc)], { stdio: [stdin, 'pipe', 'pipe'] });
    } finally {
      fs.closeSync(stdin);
    }
    const file = path.join(etc, 'offsite.pass');
    expect(fs.readFileSync(file, 'utf8')).toBe('secret\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(etc).mode & 0o022).toBe(0); // no one but root can change the directory
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
