/**
 * The parts of a command across hosts that need no host: grouping by host, --host and --parallelism,
 * the bounded runner, the summary and exit status, and the engine and read requests a host refuses.
 */
import type { HostConnection } from '../../src/host-connection.js';
import {
  fleetError,
  groupByHost,
  hostSummary,
  parallelismOf,
  runBounded,
  selectHosts,
  type HostOutcome,
} from '../../provider/remote/fleet.js';
import { engineRequest } from '../../provider/remote/serve-engine.js';
import { withHost } from '../../provider/commands/read-hosts.js';
import { readRequest } from '../../provider/remote/serve-read.js';
import { RefusedError, SpecError, UsageError } from '../../provider/errors.js';

const s1: HostConnection = { address: 'storage-1.internal', user: 'root', port: 22 };
const s2: HostConnection = { address: 'storage-2.internal', user: 'root', port: 2222, identityFile: '/ci/key' };
const s10: HostConnection = { address: 'storage-10.internal', user: 'root', port: 22 };

describe('groupByHost', () => {
  test('this machine first, then hosts in natural order, items in their order', () => {
    const items: Array<[string, HostConnection | undefined]> = [
      ['a', s10],
      ['b', s2],
      ['c', undefined],
      ['d', s2],
      ['e', s1],
    ];
    const groups = groupByHost(items, ([, host]) => host);
    expect(groups.map((g) => [g.name, g.items.map(([n]) => n)])).toEqual([
      ['local', ['c']],
      ['storage-1.internal', ['e']],
      ['storage-2.internal', ['b', 'd']],
      ['storage-10.internal', ['a']],
    ]);
    expect(groups[0].connection).toBeUndefined();
    expect(groups[2].connection).toEqual(s2);
  });

  test('one address reached two ways is refused, naming both', () => {
    expect(() => groupByHost([s2, { ...s2, port: 22 }], (h) => h)).toThrow(SpecError);
    expect(() => groupByHost([s2, { ...s2, port: 22 }], (h) => h)).toThrow(
      /storage-2.internal is declared with two different connections/,
    );
  });

  test('a host whose address is `local` (the name of this machine here) is refused, never merged with this machine', () => {
    const named: HostConnection = { address: 'local', user: 'root', port: 22 };
    // Either order: merged, this machine's things went to the host or the host's were applied here.
    for (const items of [
      [undefined, named],
      [named, undefined],
    ])
      expect(() => groupByHost(items, (h) => h)).toThrow(
        new SpecError(
          "host address 'local' is the name hoststore gives the machine that runs it (--host local, the summaries), so that host could be taken for this one: give its full DNS name or its IP address",
        ),
      );
  });

  test('nothing: no groups', () => {
    expect(groupByHost([], () => undefined)).toEqual([]);
  });
});

describe('selectHosts (--host)', () => {
  const groups = [{ name: 'local' }, { name: 'storage-1.internal' }, { name: 'storage-2.internal' }];
  test('none named: all', () => expect(selectHosts(groups, [])).toEqual(groups));
  test('some named: those, in the declared order', () =>
    expect(selectHosts(groups, ['storage-2.internal', 'local']).map((g) => g.name)).toEqual([
      'local',
      'storage-2.internal',
    ]));
  test('an unknown name is a usage error listing the hosts', () => {
    expect(() => selectHosts(groups, ['storage-3.internal'])).toThrow(UsageError);
    expect(() => selectHosts(groups, ['storage-3.internal'])).toThrow(
      "--host storage-3.internal is not a host this synth output declares (its hosts: local, storage-1.internal, storage-2.internal); name one of them, or 'local' for this machine",
    );
  });
});

describe('--parallelism', () => {
  test('default 4', () => expect(parallelismOf(undefined)).toBe(4));
  test.each([
    ['1', 1],
    ['64', 64],
  ])('%s is taken', (value, n) => expect(parallelismOf(value)).toBe(n));
  test.each(['0', '65', '-1', '2.5', 'four', ''])('%j is a usage error', (value) => {
    expect(() => parallelismOf(value)).toThrow(UsageError);
    expect(() => parallelismOf(value)).toThrow(/--parallelism must be a whole number from 1 to 64/);
  });
});

describe('runBounded', () => {
  test('never more than the bound at once; every outcome in order; a failure stops no other', async () => {
    let running = 0;
    let most = 0;
    const results = await runBounded([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 10 * (8 - n)));
      running -= 1;
      if (n === 2) throw new Error('two failed');
      return n * 10;
    });
    expect(most).toBe(3);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      10,
      'two failed',
      30,
      40,
      50,
      60,
      70,
    ]);
  });
});

describe('summary and exit status', () => {
  const ok: HostOutcome = { host: 'storage-1.internal', state: 'ok', text: '3 changed, 5 unchanged' };
  const down: HostOutcome = { host: 'storage-2.internal', state: 'failed', text: 'cannot connect' };
  const refused: HostOutcome = { host: 'local', state: 'refused', text: '1 change refused (see its plan)' };
  test('one line per host', () =>
    expect(hostSummary([refused, ok, down])).toBe(
      'local: refused: 1 change refused (see its plan)\nstorage-1.internal: 3 changed, 5 unchanged\nstorage-2.internal: failed: cannot connect',
    ));
  test('all ok: no error', () => expect(fleetError([ok], 'the apply')).toBeUndefined());
  test('a failure: exit 1 naming the host', () => {
    const error = fleetError([ok, down, refused], 'the apply')!;
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('storage-2.internal (failed), local (refused)');
  });
  test('only refusals: exit 3', () => expect(fleetError([ok, refused], 'the apply')).toBeInstanceOf(RefusedError));
  test('"the others are done" only when some others are', () => {
    expect(fleetError([ok, down], 'the apply')!.message).toContain('; the others are done.');
    expect(fleetError([down], 'the apply')!.message).not.toContain('the others');
  });
});

describe('engine requests a host refuses', () => {
  const entry = (spec: Record<string, string>) => ({ stack: 's', address: 's/app/db', kind: 'storage', spec });
  const good = { op: 'plan', address: 'storage-1.internal', desired: [entry({ host: 'storage-1.internal' })] };
  test('a well-formed request is read', () =>
    expect(engineRequest(good).desired[0].spec.host).toBe('storage-1.internal'));
  test.each([
    [{ ...good, op: 'delete-everything' }, /op must be one of plan, apply, plan-apply, destroy-check, destroy/],
    [{ ...good, address: 'a b' }, /address must be a DNS name/],
    [{ ...good, desired: [] }, /desired must be a non-empty list/],
    [
      { ...good, desired: [entry({ host: 'storage-2.internal' })] },
      /is for host "storage-2.internal", not for storage-1.internal/,
    ],
    [{ ...good, desired: [entry({})] }, /is for a local project, not for storage-1.internal/],
    [{ ...good, desired: [{ ...entry({ host: 'storage-1.internal' }), kind: 'user' }] }, /kind must be one of/],
    [{ ...good, desired: [{ ...entry({ host: 'storage-1.internal' }), extra: 1 }] }, /extra is not a field/],
    [
      { ...good, desired: [entry({ host: 'storage-1.internal', size_gb: 1 as unknown as string })] },
      /spec must be a JSON object of strings/,
    ],
    [{ ...good, op: 'apply' }, /apply needs options.fingerprint/],
  ])('%#: refused', (request, message) => {
    expect(() => engineRequest(request as Record<string, unknown>)).toThrow(SpecError);
    expect(() => engineRequest(request as Record<string, unknown>)).toThrow(message);
  });
});

describe('read requests a host refuses', () => {
  test.each([
    [{ op: 'delete', roots: ['/srv/h'], json: true }, /op must be one of/],
    [{ op: 'list', roots: [], json: true }, /roots must be a non-empty list/],
    [{ op: 'list', roots: ['/etc'], json: true }, /root "\/etc" is not a usable hoststore root/],
    [{ op: 'list', roots: ['/srv/h'], json: false }, /json must be true/],
    [{ op: 'status', roots: ['/srv/h'], json: true }, /status needs the storage's name/],
    [{ op: 'status', roots: ['/srv/h'], json: true, name: '$(reboot)' }, /read request: name /],
  ])('%#: refused', (request, message) => {
    expect(() => readRequest(request)).toThrow(SpecError);
    expect(() => readRequest(request)).toThrow(message);
  });
});

test("a read item is labelled with the host it was read from, whatever `host` the host's answer carries", () => {
  expect(withHost('storage-1.internal', { name: 'pg', host: 'storage-2.internal' })).toEqual({
    name: 'pg',
    host: 'storage-1.internal',
  });
});
