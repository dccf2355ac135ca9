/** The progress display alone, on a fake stream: live redraws on a terminal, throttled plain lines elsewhere. */
import { progress } from '../../provider/output/progress.js';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { written: string[] } {
  const written: string[] = [];
  return {
    isTTY,
    columns: 80,
    written,
    write: (chunk: string) => written.push(chunk) > 0,
  } as unknown as NodeJS.WriteStream & { written: string[] };
}

test('in a pipe: the start, an update at most every 10 s, and the end, each a line', () => {
  let now = 0;
  const stream = fakeStream(false);
  const shown = progress(stream, () => now);
  shown.start('[1/2] create disk d1');
  shown.update('10%');
  now = 5_000;
  shown.update('50%');
  now = 10_000;
  shown.update('90%');
  shown.log('    formatted');
  shown.done('[1/2] create disk d1: done in 10000 ms');
  shown.finish();
  expect(stream.written.join('')).toBe(
    '[1/2] create disk d1 ...\n[1/2] create disk d1: 90%\n    formatted\n[1/2] create disk d1: done in 10000 ms\n',
  );
});

test('on a terminal: one line rewritten in place, other lines above it, cleared at the end', () => {
  let now = 0;
  const stream = fakeStream(true);
  const shown = progress(stream, () => now);
  shown.start('[1/2] create disk d1');
  now = 2_000;
  shown.update('50%');
  shown.log('    formatted');
  shown.done('[1/2] create disk d1: done in 2000 ms');
  shown.finish();
  const out = stream.written.join('').replace(/\x1b\[[0-9;]*m/g, '');
  expect(out).toBe(
    '\r\x1b[K[1/2] create disk d1 0 s' +
      '\r\x1b[K[1/2] create disk d1 50%, 2 s' +
      '\r\x1b[K    formatted\n' +
      '\r\x1b[K[1/2] create disk d1 50%, 2 s' +
      '\r\x1b[K[1/2] create disk d1: done in 2000 ms\n',
  );
});
