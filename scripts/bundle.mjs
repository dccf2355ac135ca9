/**
 * Bundles the `hoststore` CLI with esbuild (run by `npm run build` and `build:dist`, after tsc: the code
 * cache below is made with tsc's build of provider/cli/code-cache.ts). Terraform starts one handler process
 * per resource, and loading a few files instead of ~30 ES modules and their packages is most of what such a
 * process costs, so the CLI is three bundles under dist/provider/:
 *  - cli.js, the entry (provider/cli.ts), which loads one of the two below and nothing else;
 *  - chunks/handle-main.cjs, `hoststore handle KIND OP`, one CommonJS file run from its code cache
 *    (chunks/handle-main.cjs.v8cache), with execa apart (chunks/execa.cjs);
 *  - chunks/program-main.js, the command line parser, with each command in chunks loaded when it runs;
 * The handler and the parser are built apart so that neither's chunks are cut up by the other's imports.
 */
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import * as esbuild from 'esbuild';

const OUT = 'dist/provider';

/**
 * Node's built-ins through require() rather than `import`: an ES import of a built-in builds its ES facade,
 * which reads every export (node:fs's ReadStream getter alone loads the streams), in every process.
 */
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(build) {
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    build.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) =>
      builtins.has(args.path) && args.kind === 'import-statement'
        ? { path: args.path, namespace: 'builtin' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/** The entry's two imports, pointed at the bundles they become. */
const entryImports = {
  name: 'entry-imports',
  setup(build) {
    build.onResolve({ filter: /^\.\/cli\/(handle|program)-main\.js$/ }, (args) => ({
      path: args.path.replace('./cli/', './chunks/'),
      external: true,
    }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outdir: OUT,
  chunkNames: 'chunks/[name]-[hash]',
  plugins: [builtinsByRequire],
  // A require() for the CommonJS packages in the bundle (commander, cross-spawn, cli-table3) and for the
  // built-ins, made on its first call: an ES module has none.
  banner: {
    js: "import { createRequire as __hoststoreCreateRequire } from 'node:module'; var __hoststoreRequire; function require(id) { return (__hoststoreRequire ??= __hoststoreCreateRequire(import.meta.url))(id); }",
  },
  metafile: true,
  logLevel: 'warning',
};

/**
 * execa (a third of the handler's code) in a file of its own, required on first use as the source's import()
 * says: a handler that finds nothing to do runs no command, and must not compile it.
 */
const execaApart = {
  name: 'execa-apart',
  setup(build) {
    build.onResolve({ filter: /^execa$/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: './execa.cjs', external: true } : undefined,
    );
  },
};

/**
 * `import * as fs from 'node:fs'` as a plain `const fs = require('node:fs')`: esbuild turns a namespace
 * import of a CommonJS module into a copy of every export as a getter (__toESM), one per importing module,
 * which the handler would pay ~70 times at start-up; a built-in's exports object already is the namespace.
 */
const builtinNamespacesAsRequire = {
  name: 'builtin-namespaces-as-require',
  setup(build) {
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    build.onLoad({ filter: /\/(provider|src)\/.*\.ts$/ }, async (args) => {
      const text = await fs.promises.readFile(args.path, 'utf8');
      return {
        contents: text.replace(/^import \* as (\w+) from '([^']+)';$/gm, (line, name, id) =>
          builtins.has(id) ? `const ${name} = require('${id}');` : line,
        ),
        loader: 'ts',
      };
    });
  },
};

/**
 * The handler as ONE CommonJS file: an ES module graph costs every process the ES loader's resolve of each
 * chunk and a compile per module, where require() of one file is one read and one (lazy) compile. The kinds'
 * handlers and the engine stay lazy: esbuild runs a bundled module's code on its dynamic import(), not before.
 * Built-ins stay plain require() calls (no import-statement plugin), and import.meta.url (the snapshot-policy
 * handler finds cli.js by it) becomes this file's URL, made only when asked for.
 */
const handlerBundle = {
  ...common,
  format: 'cjs',
  entryPoints: { 'chunks/handle-main': 'provider/cli/handle-main.ts' },
  outExtension: { '.js': '.cjs' },
  // import() as a require(): the file may be run as a vm.Script (below), which has no import().
  supported: { 'dynamic-import': false },
  plugins: [execaApart, builtinNamespacesAsRequire],
  define: { 'import.meta.url': '__hoststoreMeta.url' },
  banner: {
    js: "var __hoststoreMeta = { get url() { return require('node:url').pathToFileURL(__filename).href; } };",
  },
};

fs.rmSync(`${OUT}/chunks`, { recursive: true, force: true });
// tsc's map of the unbundled cli.js would describe a file that is no longer there.
fs.rmSync(`${OUT}/cli.js.map`, { force: true });
const results = await Promise.all([
  esbuild.build({ ...common, entryPoints: { cli: 'provider/cli.ts' }, plugins: [entryImports], banner: undefined }),
  esbuild.build(handlerBundle),
  esbuild.build({ ...handlerBundle, entryPoints: { 'chunks/execa': 'execa' }, plugins: [], define: {}, banner: {} }),
  esbuild.build({ ...common, entryPoints: { 'chunks/program-main': 'provider/cli/program-main.ts' }, splitting: true }),
]);
fs.chmodSync(`${OUT}/cli.js`, 0o755);
// The handler's code cache (provider/cli/code-cache.ts), made by this node for the same node: a handler run by
// another refuses it and compiles the bundle as require() would. It is made after a warm-up (warmUp in
// provider/cli/handle-main.ts: the storage and mount handlers loaded and an example spec of each validated),
// since V8 caches only the functions compiled by then: compiled at build time, they are not compiled again by
// each handler process (~10 ms of ~50). Not every kind: the cache is read whole by every process.
const { cacheFileContents, cacheFileOf, compileCommonJs, runCommonJs } =
  await import('../dist/provider/cli/code-cache.js');
const { replicaHostPath } = await import('../dist/src/schema.js');
const handlerFile = path.resolve(`${OUT}/chunks/handle-main.cjs`);
const handlerSource = fs.readFileSync(handlerFile, 'utf8');
const script = compileCommonJs(handlerFile, handlerSource);
const { warmUp } = runCommonJs(handlerFile, script);
const root = '/var/lib/hoststore';
const disk = { root, project: 'app', stack: 'app' };
await warmUp({
  storage: {
    ...disk,
    kind: 'disk',
    name: 'data',
    size_gb: '10',
    filesystem: 'ext4',
    shared: 'false',
    removal_policy: 'retain',
    from_snapshot: '',
  },
  mount: {
    ...disk,
    storage: 'data',
    storage_kind: 'disk',
    service: 'web',
    replica: '1',
    mount_path: '/data',
    read_only: 'false',
    host_path: replicaHostPath(root, 'app', 'web', 1, '/data'),
  },
});
fs.writeFileSync(cacheFileOf(handlerFile), cacheFileContents(handlerSource, script.createCachedData()));
if (process.env.BUNDLE_ANALYZE) for (const r of results) console.log(await esbuild.analyzeMetafile(r.metafile));
