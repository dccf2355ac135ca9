/**
 * `snapshot list` shows the last verification recorded for each snapshot and re-hashes only with
 * --verify, or when the file's (or tree's) identity changed since that verification.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { converge, makeContext } from '../../provider/handlers/handler.js';
import { storageHandler } from '../../provider/handlers/storage.js';
import { listSnapshots } from '../../provider/snapshots/snapshots.js';
import { hostTest, makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';
import { storageWire } from '../helpers/specs.js';
import { hoststore } from '../helpers/cli.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => host.cleanup());

const ctx = () => makeContext(host.root, { log: () => undefined });
const cli = (...args: string[]) => hoststore([...args, '--root', host.root]);
interface Listed {
  id: string;
  intact: boolean;
  verified?: { at: string; intact: boolean };
}
const listed = (...extra: string[]): { status: number | null; rows: Listed[] } => {
  const result = cli('snapshot', 'list', '--json', ...extra);
  return { status: result.status, rows: JSON.parse(result.stdout) as Listed[] };
};
const pause = () => new Promise((r) => setTimeout(r, 20));

hostTest()('snapshot list shows the recorded verification and re-hashes only with --verify', async () => {
  // GIVEN a snapshot of a disk, verified when it was taken
  await converge(storageHandler, ctx(), storageHandler.validate(storageWire(host.root)));
  const taken = JSON.parse(cli('snapshot', 'create', 'data', '--json').stdout);
  expect(taken.verified).toMatchObject({ at: expect.any(String), intact: true });
  await pause();
  // WHEN it is listed twice without --verify
  const first = listed();
  const second = listed();
  // THEN both show the verification of the capture: nothing was re-hashed
  expect(first).toMatchObject({
    status: 0,
    rows: [{ id: taken.id, intact: true, verified: { at: taken.verified.at, intact: true } }],
  });
  expect(second.rows[0].verified?.at).toBe(taken.verified.at);
  expect(cli('snapshot', 'list').stdout).toMatch(new RegExp(`${taken.id}.* ok +${taken.verified.at.slice(0, 19)}`));
  // WHEN it is listed with --verify, THEN it is hashed again and the new verification is recorded
  await pause();
  const verified = listed('--verify');
  expect(verified.status).toBe(0);
  expect(verified.rows[0].verified!.at > taken.verified.at).toBe(true);
  expect(listSnapshots(ctx())[0]).toMatchObject({ verified: { at: verified.rows[0].verified!.at, intact: true } });
});

hostTest()('a snapshot whose file changed is re-hashed without --verify and reported changed', async () => {
  await converge(storageHandler, ctx(), storageHandler.validate(storageWire(host.root)));
  const taken = JSON.parse(cli('snapshot', 'create', 'data', '--json').stdout);
  // GIVEN the snapshot file tampered with, its mtime put back (its ctime still moves)
  const file = listSnapshots(ctx())[0].path;
  const { atime, mtime } = fs.statSync(file);
  fs.chmodSync(file, 0o644);
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from('tampered'), 0, 8, 1024 * 1024);
  fs.closeSync(fd);
  fs.chmodSync(file, 0o444);
  fs.utimesSync(file, atime, mtime);
  await pause();
  // WHEN it is listed without --verify, THEN it is reported changed and the failure is recorded
  const after = listed();
  expect(after).toMatchObject({ status: 1, rows: [{ id: taken.id, intact: false, verified: { intact: false } }] });
  expect(after.rows[0].verified!.at > taken.verified.at).toBe(true);
  expect(cli('snapshot', 'list')).toMatchObject({
    status: 1,
    stdout: expect.stringMatching(new RegExp(`${taken.id}.* CHANGED`)),
  });
  // AND the recorded failure stands on the next list, without hashing again
  expect(listed().rows[0].verified!.at).toBe(after.rows[0].verified!.at);
});

hostTest()('a file changed deep inside a directory snapshot is noticed without --verify', async () => {
  await converge(
    storageHandler,
    ctx(),
    storageHandler.validate(
      storageWire(host.root, { kind: 'directory', name: 'files', size_gb: '', filesystem: '' } as never),
    ),
  );
  const dir = path.join(host.root, 'projects', 'app', 'directories', 'files');
  fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'a', 'b', 'c'), 'original');
  const taken = JSON.parse(cli('snapshot', 'create', 'files', '--json').stdout);
  expect(listed().rows[0]).toMatchObject({ intact: true, verified: { at: taken.verified.at } });
  const deep = path.join(listSnapshots(ctx())[0].path, 'a', 'b', 'c');
  fs.chmodSync(deep, 0o644);
  fs.writeFileSync(deep, 'changed!');
  expect(listed()).toMatchObject({ status: 1, rows: [{ intact: false }] });
});

hostTest()('a missing snapshot file is reported missing', async () => {
  await converge(storageHandler, ctx(), storageHandler.validate(storageWire(host.root)));
  const taken = JSON.parse(cli('snapshot', 'create', 'data', '--json').stdout);
  fs.rmSync(listSnapshots(ctx())[0].path);
  const result = cli('snapshot', 'list');
  expect(result).toMatchObject({ status: 1, stdout: expect.stringMatching(new RegExp(`${taken.id}.* MISSING`)) });
  expect(result.stdout).not.toMatch(/CHANGED/);
  expect(listed()).toMatchObject({ status: 1, rows: [{ id: taken.id, intact: false, state: 'missing' }] });
});
