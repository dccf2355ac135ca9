/** The line a delete prints for a thing made on another host: what, where, and the command that deletes it there. */
import { retainedLine } from '../../provider/remote/host-moved.js';

test('a volume: the delete command names its project; the default root is not repeated', () => {
  const identity = {
    kind: 'volume',
    root: '/var/lib/hoststore',
    project: 'shop',
    name: 'db',
    host: 'storage-1.internal',
  };
  expect(retainedLine('storage', identity, 'storage-1.internal', 'storage-2.internal')).toBe(
    'hoststore: volume db (project shop) was made on host storage-1.internal, but this project now deploys to host storage-2.internal: it is retained on host storage-1.internal, untouched; once nothing there needs it, delete it there with hoststore delete db --project shop --force (--force: it is still mounted). If both addresses reach the same machine, it is the storage the project uses now there: delete nothing',
  );
});

test('a mount: retained, and how to remove it there', () => {
  const identity = {
    root: '/srv/h',
    project: 'shop',
    storage: 'db',
    storage_kind: 'disk',
    service: 'web',
    replica: '1',
    mount_path: '/data',
  };
  expect(retainedLine('mount', identity, undefined, 'storage-2.internal')).toBe(
    'hoststore: the mount of db for web replica 1 at /data (project shop) was made on the machine that runs the deploy, but this project now deploys to host storage-2.internal: it is retained on the machine that runs the deploy, untouched; to remove it there, delete its storage there (hoststore delete db --force --root /srv/h). If both addresses reach the same machine, it is the storage the project uses now there: delete nothing',
  );
});

test('a value with odd characters is shown quoted, and quoted for the shell in the command', () => {
  const identity = { kind: 'disk', root: '/srv/h', project: 'p', name: 'a\u001b[2Jb' };
  const line = retainedLine('storage', identity, 'h1', 'h2');
  expect(line).not.toContain('\u001b');
  expect(line).toContain('disk "a\\u001b[2Jb" (project p)');
  expect(line).toContain("hoststore delete $'a\\x1b[2Jb' --force --root /srv/h");
});
