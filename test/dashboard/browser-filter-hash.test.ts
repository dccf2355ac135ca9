/**
 * The overview's filter read from the address (#filter=...) in a real browser: an address a person typed or
 * pasted, which need not be valid percent-encoding, is taken as it is, never an uncaught error.
 */
import { makeHostFixture, requireRoot, type HostFixture } from '../helpers/host-fixture.js';
import { useBrowser } from '../helpers/browser.js';
import { listenDashboard, type RunningDashboard } from '../../provider/dashboard/server.js';

const it = requireRoot() ? test : test.skip;
const browser = useBrowser();
let host: HostFixture | undefined;
let server: RunningDashboard | undefined;

afterEach(async () => {
  await server?.close();
  host?.cleanup();
});

it('#filter=100% (a stray %) fills the filter with the text as written and raises no page error', async () => {
  // GIVEN a dashboard of an empty root
  host = makeHostFixture('hoststore-dash-hash-');
  server = await listenDashboard(
    { source: [{ name: 'local', roots: [host.root] }], hostNames: ['127.0.0.1'] },
    '127.0.0.1',
    0,
  );
  // WHEN its overview is opened with a filter that is not valid percent-encoding
  const recorded = await browser.newPage();
  await recorded.page.goto(`${server.url}#filter=100%`, { waitUntil: 'networkidle' });
  // THEN the filter holds it as written, and nothing went wrong on the page
  expect(await recorded.page.inputValue('#filter')).toBe('100%');
  expect(recorded.problems).toEqual([]);
});
