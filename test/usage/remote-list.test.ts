/**
 * `list` and `status` of a remote host (real OpenSSH, test/helpers/sshd.ts): the host answers with the
 * usage and its roots' space, and the text printed here shows the USED column, the root's line, and
 * status's `used:` and `root:` lines; --json stays an array for list and carries rootSpace for status.
 */
import * as fs from 'node:fs';
import * as crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { mountHandler } from '../../provider/handlers/mount.js';
import { readHosts } from '../../provider/commands/read-hosts.js';
import { hostTest } from '../helpers/host-fixture.js';
import { mountWire, storageWire } from '../helpers/specs.js';
import { startSshHost, type SshHost } from '../helpers/sshd.js';

const MiB = 1024 ** 2;
let host: SshHost | undefined;
afterAll(async () => {
  await host?.stop();
});

/** What readHosts prints on stdout. */
async function printed(run: () => Promise<number>): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => (out.push(chunk), true)) as typeof process.stdout.write;
  try {
    const code = await run();
    return { code, out: out.join('') };
  } finally {
    process.stdout.write = write;
  }
}

hostTest('mkfs.ext4', 'sshd')('a remote host: usage and root space in list and status, text and --json', async () => {
  // GIVEN a host over ssh whose root holds a mounted ext4 disk with 32 MiB written
  host = await startSshHost();
  const root = host.root;
  const ctx = () => makeContext(root, { log: () => undefined });
  await converge(storageHandler, ctx(), storageHandler.validate(storageWire(root, { name: 'data' })));
  await converge(mountHandler, ctx(), mountHandler.validate(mountWire(root)));
  const hostPath = mountWire(root).host_path;
  fs.writeFileSync(`${hostPath}/data.bin`, crypto.randomBytes(32 * MiB));
  execFileSync('sync', ['-f', `${hostPath}/data.bin`]);
  const name = host.connection.address;
  const options = (json: boolean) => ({
    root,
    json,
    yes: false,
    force: false,
    hosts: [{ name, connection: host!.connection, roots: [root] }],
  });
  // WHEN listed and its status read, as text and as JSON
  const text = await printed(() => readHosts('list', options(false)));
  const json = await printed(() => readHosts('list', options(true)));
  const status = await printed(() => readHosts('status', options(false), { name: 'data' }));
  const statusJson = await printed(() => readHosts('status', options(true), { name: 'data' }));
  // THEN
  expect([text.code, json.code, status.code, statusJson.code]).toEqual([0, 0, 0, 0]);
  const lines = text.out.trimEnd().split('\n');
  expect(lines[0]).toBe(`host ${name}:`);
  expect(lines[1]).toMatch(/\bALLOCATED\s+USED\s+STATE\b/);
  expect(lines[2]).toMatch(/^data +disk +app +1 GB ext4 +\S+ \S+ +3\d\.\d MiB of 9\d\d\.\d MiB \(\d%\) +mounted /);
  expect(lines[3]).toMatch(
    new RegExp(
      `^${root}: .* free of .*; 1 storage promises 1\\.0 GiB \\(\\d+\\.\\d\\d× the filesystem\\), .* allocated$`,
    ),
  );
  const items = JSON.parse(json.out);
  expect(items).toEqual([
    expect.objectContaining({ host: name, name: 'data', usage: expect.objectContaining({ source: 'mounted' }) }),
  ]);
  expect(status.out).toMatch(/^used: +3\d\.\d MiB of 9\d\d\.\d MiB \(\d%\), .* free \(mounted\)$/m);
  expect(status.out).toMatch(new RegExp(`^root: +${root}: .* 1 storage promises 1\\.0 GiB`, 'm'));
  expect(JSON.parse(statusJson.out)).toMatchObject({
    host: name,
    rootSpace: { root, nominalBytes: 1024 ** 3, storageCount: 1 },
  });
});
