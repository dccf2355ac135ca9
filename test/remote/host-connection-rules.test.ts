/**
 * hostConnectionProblems, which checks HOSTSTORE_HOST and a synth output's connections before any goes into an
 * ssh_config: a field it does not know is a problem, whatever its name (Object.prototype's included).
 */
import { hostConnectionProblems } from '../../src/host-connection.js';

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
