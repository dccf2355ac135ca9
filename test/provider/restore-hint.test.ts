/**
 * `backup restore --to NAME` and `snapshot restore --to NAME` end by saying which construct adopts the new
 * storage. A Volume is `shared: false` by default and then looks for `<name>-<n>`, never `<name>`: a hint
 * "declare a Volume named 'NAME'" followed literally makes a new, empty `NAME-1` and leaves the restored
 * data retained and unmounted. The hint must name a declaration that adopts NAME itself.
 */
import { adoptHint } from '../../provider/commands/adopt-hint.js';

test('a restored disk is adopted by a Disk of its name', () => {
  expect(adoptHint('disk', 'pg-copy')).toBe("declare a Disk named 'pg-copy' to mount it");
});

test('a restored block volume is adopted by a shared Volume of its name, or as a replica of its base name', () => {
  expect(adoptHint('volume', 'data-copy')).toBe("declare a Volume named 'data-copy' with shared: true to mount it");
  expect(adoptHint('volume', 'copy-2')).toBe(
    "declare a Volume named 'copy-2' with shared: true to mount it (or a Volume named 'copy' with shared: false, as its replica 2)",
  );
});

test('a restored directory is adopted by a directory Volume of its name', () => {
  expect(adoptHint('directory', 'files')).toBe("declare a Volume named 'files' with type: 'directory' to mount it");
});
