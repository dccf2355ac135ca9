/** The `root` rule (issue 9 §1): a dedicated directory, never a shared one itself; one rule for specs and --root. */
import { rootRule } from '../../src/schema.js';
import { errors } from './synth-helpers.js';

describe('StorageProject root', () => {
  test.each(['/tmp', '/var', '/home', '/srv', '/var/lib', '/var/tmp', '/opt', '/mnt', '/media', '/root'])(
    'root %p (a shared directory itself) fails synth naming `root`',
    (root) => {
      expect(errors(() => undefined, { root })).toEqual([
        `[stack/proj] \`root\` must be a dedicated directory, not the shared ${root} itself (/tmp, /var, /var/lib, /var/tmp, /home, /srv, /opt, /mnt, /media, /root); use a directory of its own such as /var/lib/hoststore (got "${root}")`,
      ]);
    },
  );

  test.each([
    '/tmp/hoststore',
    '/var/hoststore',
    '/var/lib/hoststore',
    '/home/app/storage',
    '/srv/hoststore',
    '/opt/hoststore',
    '/mnt/data',
    '/data',
  ])('a directory of its own inside one, %p, is fine', (root) => {
    expect(errors(() => undefined, { root })).toEqual([]);
  });

  test.each(['/', '/etc', '/usr/local/data', '/tmp/', '/var//lib/x', '/srv/./x'])('%p is refused', (root) => {
    expect(errors(() => undefined, { root })).toEqual([expect.stringMatching(/^\[stack\/proj\] `root` must /)]);
  });
});

test('the rule is the one --root obeys (the CLI calls rootRule)', () => {
  expect(rootRule('/tmp')).toMatch(/dedicated directory/);
  expect(rootRule('/')).toMatch(/system directory/);
  expect(rootRule('/var/lib/hoststore-example')).toBeUndefined();
});
