/** `--repository URL` refused for holding a password says so without repeating the password (attack review find). */
import { makeContext } from '../../provider/handlers/handler.js';
import { resolveRepository } from '../../provider/backup/resolve-repository.js';
import { makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => host.cleanup());

test.each(['rest:https://backup:s3cr3t-pw@backups.example/', 'rest:HTTPS://backup:s3cr3t-pw@backups.example/'])(
  'a URL with a password is refused without echoing it: %s',
  (url) => {
    const ctx = makeContext(host.root, { log: () => undefined });
    let message = '';
    try {
      resolveRepository(ctx, { repository: url, passwordFile: '/etc/hoststore/p' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/must not hold a password/);
    expect(message).not.toContain('s3cr3t-pw');
    expect(message).toContain('backups.example');
  },
);
