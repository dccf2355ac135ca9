import * as fs from 'node:fs';
import { GiB, createSparseImage, growImage, imageStat } from '../../provider/host/image.js';
import { RefusedError } from '../../provider/errors.js';
import { makeHostFixture, type HostFixture } from '../helpers/host-fixture.js';

let host: HostFixture;
beforeEach(() => {
  host = makeHostFixture();
});
afterEach(() => host.cleanup());

test('a 500 GiB image is created thin, exclusively and private', async () => {
  const image = host.path('a.img');
  await createSparseImage(image, 500 * GiB);
  expect(imageStat(image)).toEqual({ sizeBytes: 500 * GiB, allocatedBytes: 0 });
  expect(fs.statSync(image).mode & 0o777).toBe(0o600);
  // Exclusive: never over an existing file, which keeps its content.
  fs.writeFileSync(image, 'data');
  await expect(createSparseImage(image, GiB)).rejects.toMatchObject({ code: 'EEXIST' });
  expect(fs.readFileSync(image, 'utf8')).toBe('data');
});

test('an image is never created through a symlink', async () => {
  fs.symlinkSync(host.path('elsewhere.img'), host.path('link.img'));
  await expect(createSparseImage(host.path('link.img'), GiB)).rejects.toMatchObject({ code: 'EEXIST' });
  expect(fs.existsSync(host.path('elsewhere.img'))).toBe(false);
});

test('a bad size is refused before anything is created', async () => {
  for (const size of [0, -1, 1.5, Number.NaN]) {
    await expect(createSparseImage(host.path('bad.img'), size)).rejects.toThrow(/positive whole number of bytes/);
  }
  expect(fs.existsSync(host.path('bad.img'))).toBe(false);
});

test('growImage extends thinly and keeps data; a shrink is refused and changes nothing', async () => {
  const image = host.path('g.img');
  await createSparseImage(image, GiB);
  fs.writeFileSync(image, 'head', { flag: 'r+' });
  await growImage(image, 3 * GiB);
  expect(imageStat(image)?.sizeBytes).toBe(3 * GiB);
  expect(imageStat(image)!.allocatedBytes).toBeLessThanOrEqual(64 * 1024);
  const fd = fs.openSync(image, 'r');
  const head = Buffer.alloc(4);
  fs.readSync(fd, head, 0, 4, 0);
  fs.closeSync(fd);
  expect(head.toString()).toBe('head');
  await growImage(image, 3 * GiB); // same size: nothing to do
  const error = await growImage(image, 2 * GiB).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RefusedError);
  expect((error as Error).message).toMatch(/refusing to shrink .* from 3221225472 to 2147483648 bytes/);
  expect(imageStat(image)?.sizeBytes).toBe(3 * GiB);
});

test('imageStat of a missing image is undefined', () => {
  expect(imageStat(host.path('none.img'))).toBeUndefined();
});
