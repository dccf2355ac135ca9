/**
 * hostConnectionProblems, which checks HOSTSTORE_HOST and a synth output's connections before any goes into an
 * ssh_config: a field it does not know is a problem, whatever its name (Object.prototype's included).
 */
import { hostConnectionProblems } from '../../src/host-connection.js';
import { connectionOf } from '../../provider/remote/forward-handle.js';

const good = { address: 'storage-1.internal', user: 'root', port: 22 };

test('a valid connection has no problem', () => {
  expect(hostConnectionProblems(good)).toEqual([]);
});

test.each(['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf'])(
  'a field named %s (an Object.prototype name) is not a field of a host connection',
  (key) => {
    // As HOSTSTORE_HOST is read: JSON.parse makes each an own field, `__proto__` too.
    const value = JSON.parse(JSON.stringify(good).replace(/}$/, `,${JSON.stringify(key)}:"x"}`)) as object;
    expect(Object.keys(value)).toContain(key);
    expect(hostConnectionProblems(value)).toEqual([`${key} is not a field of a host connection`]);
  },
);

describe('key material where a path belongs is refused without being echoed', () => {
  const key =
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAA\n-----END OPENSSH PRIVATE KEY-----';

  test.each(['identityFile', 'knownHostsFile'])('%s', (field) => {
    const problems = hostConnectionProblems({ ...good, [field]: key });
    expect(problems).toEqual([
      `${field} must be the path of the key file, never the key itself (got key material, not shown)`,
    ]);
  });

  test('HOSTSTORE_HOST holding a key: one line without any of it', () => {
    let message = '';
    try {
      connectionOf(JSON.stringify({ ...good, identityFile: key }));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^HOSTSTORE_HOST identityFile must be the path of the key file/);
    expect(message).not.toContain('b3BlbnNzaC1');
    expect(message).not.toContain('BEGIN');
  });
});

test.each(['0x7f000001', 'storage.0x7f', 'host.123', '0X1'])(
  'an address whose last label is a number (%s: the resolver may read it as an IPv4 address) is refused',
  (address) => {
    expect(hostConnectionProblems({ ...good, address })).toEqual([
      expect.stringMatching(/^address must be a DNS name .*\(got ".*"\)$/),
    ]);
  },
);

test('a name merely starting with digits or 0x is a name', () => {
  for (const address of ['2130706433x', '0xdead-beef.internal', '1password.example'])
    expect(hostConnectionProblems({ ...good, address })).toEqual([]);
});
