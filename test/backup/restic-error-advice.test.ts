/**
 * restic's failures become one line with a fix, and that line is used by every caller: a push, but also a
 * restore (fromBackup, `backup restore`), `backup list` and `backup verify`. The fix must hold for all of
 * them: "local snapshots are kept and the next run tries again" is true of a scheduled push only, and told a
 * user whose new host refused to restore a disk (no local snapshot, no next run) something false.
 */
import { classifyResticError, resticError } from '../../provider/backup/restic.js';

const UNREACHABLE =
  'subprocess ssh: ssh: connect to host 192.0.2.1 port 22: Connection refused\nFatal: unable to open repository at sftp:nobody@192.0.2.1:/srv/x: unable to start the sftp session, error: EOF\n';

test('an unreachable repository says why and what to check, and promises nothing a restore does not do', () => {
  const { failure, said, fix } = classifyResticError(UNREACHABLE);
  expect(failure).toBe('unreachable');
  expect(said).toBe('cannot reach it (connect to host 192.0.2.1 port 22: Connection refused)');
  expect(fix).toBe('check that the server is up and reachable from this host (network, credentials, sftp.command)');
  const error = resticError(
    { name: 'offsite', url: 'sftp:nobody@192.0.2.1:/srv/x' },
    ['cat', 'config'],
    UNREACHABLE,
    1,
    undefined,
  );
  expect(error.message).not.toMatch(/local snapshots|next run/);
});
