/**
 * Loopback is shared by every user of the host: the dashboard on 127.0.0.1 answers root and the user who
 * started it, and refuses a connection from any other local user (found by the attack review: `nobody` read
 * root's journal through /api/history while `cat` of the file was denied).
 */
import { spawn } from 'node:child_process';
import { makeHostFixture, requireRoot, type HostFixture } from '../helpers/host-fixture.js';
import { NOBODY } from '../helpers/nobody.js';
import { listenDashboard, type RunningDashboard } from '../../provider/dashboard/server.js';
import { allowedLoopbackUids, ownerIn } from '../../provider/dashboard/peer-user.js';

const it = requireRoot() ? test : test.skip;
let host: HostFixture | undefined;
let server: RunningDashboard | undefined;

afterEach(async () => {
  await server?.close();
  host?.cleanup();
});

/** GET `url` from a node process run as `uid` (async: the server answers from this process meanwhile). */
function getAs(uid: number, url: string): Promise<string> {
  const script = `fetch(${JSON.stringify(url)}).then(async (r) => console.log(r.status, await r.text()), (e) => console.log('error', e.message))`;
  const child = spawn(
    'setpriv',
    [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', process.execPath, '-e', script],
    {
      env: { PATH: process.env.PATH },
    },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('close', () => resolve(out.trim())));
}

it('on loopback, another local user gets 403 and root gets the page', async () => {
  // GIVEN a dashboard of a root on loopback, answering root and who started it (as the command sets it)
  host = makeHostFixture('hoststore-dash-users-');
  server = await listenDashboard(
    {
      source: [{ name: 'local', roots: [host.root] }],
      hostNames: ['127.0.0.1'],
      peerUids: allowedLoopbackUids({}),
    },
    '127.0.0.1',
    0,
  );
  // WHEN nobody asks for the history, and root does
  const asNobody = await getAs(NOBODY.uid, `${server.url}api/history`);
  const asRoot = await getAs(0, `${server.url}api/history`);
  // THEN nobody is refused, saying why; root is answered
  expect(asNobody).toMatch(
    /^403 \{"error":"this dashboard answers only root and the user who started it \(uids 0\); this connection is of uid 65534"\}$/,
  );
  expect(asRoot).toMatch(/^200 \[/);
});

test('the socket tables: the client end of a connection to the server port gives its owner', () => {
  const table = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1E64 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 100 1',
    '   1: 0100007F:D431 0100007F:1E64 01 00000000:00000000 00:00000000 00000000 65534        0 101 1',
    '   2: 0100007F:1E64 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 102 1',
  ].join('\n');
  expect(ownerIn(table, 0xd431, 0x1e64)).toBe(65534);
  expect(ownerIn(table, 0xd432, 0x1e64)).toBeUndefined();
  expect([...allowedLoopbackUids({ SUDO_UID: '1000' })].sort()).toEqual([0, 1000]);
  expect([...allowedLoopbackUids({ SUDO_UID: 'x' })]).toEqual([0]);
});
