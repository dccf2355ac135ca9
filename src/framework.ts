/**
 * Finds the framework copy (cdktf, or CDK Terrain's cdktn) that made a construct's stack, so every element
 * this library adds is made by that same copy: a stack synthesizes only the elements of its own copy.
 */
import type { IConstruct } from 'constructs';
import type * as cdktf from 'cdktf';
import * as path from 'node:path';
import { moduleRequire, packageRoot } from './module-context.cjs';

/** The classes this library makes elements with, all from the copy that made the stack (cdktn has the same API). */
export interface Framework {
  readonly name: FrameworkName;
  readonly version: string;
  /** The package directory, when it can be found. */
  readonly path?: string;
  readonly TerraformStack: typeof cdktf.TerraformStack;
  readonly TerraformResource: typeof cdktf.TerraformResource;
  readonly TerraformOutput: typeof cdktf.TerraformOutput;
  readonly Token: typeof cdktf.Token;
}

type FrameworkName = 'cdktf' | 'cdktn';

/** The versions this library is written and tested against: the peer dependency ranges in package.json. */
const SUPPORTED: Record<FrameworkName, { range: string; minors: number[] }> = {
  cdktf: { range: '>=0.20.0 <0.22.0', minors: [20, 21] },
  cdktn: { range: '>=0.24.0 <0.25.0', minors: [24] },
};

// Brands both frameworks set (Symbol.for, so they hold across copies) and jsii's run-time type information.
const STACK_BRAND = Symbol.for('cdktf/TerraformStack');
const RTTI = Symbol.for('jsii.rtti');
const EXPORTS = ['TerraformStack', 'TerraformResource', 'TerraformOutput', 'Token'] as const;

const byStack = new WeakMap<object, Framework>();

/** The stack enclosing `scope` (the nearest one), by the brand any copy sets. */
export function stackOf(scope: IConstruct): IConstruct {
  const stack = [...scope.node.scopes].reverse().find((s) => STACK_BRAND in s);
  if (!stack) throw new Error(`[${scope.node.path}] must be created inside a TerraformStack (of cdktf or cdktn)`);
  return stack;
}

/** The framework that made `scope`'s stack; throws one line naming both copies when it cannot be used. */
export function frameworkOf(scope: IConstruct): Framework {
  const stack = stackOf(scope);
  let framework = byStack.get(stack);
  if (!framework) {
    framework = findFramework(stack);
    byStack.set(stack, framework);
  }
  return framework;
}

interface Rtti {
  readonly fqn: string;
  readonly version: string;
}

/** The stack class's jsii type information (`cdktf.TerraformStack` or `cdktn.TerraformStack`), up its class chain. */
function stackRtti(stack: object): Rtti | undefined {
  for (let c: unknown = stack.constructor; typeof c === 'function'; c = Object.getPrototypeOf(c)) {
    const rtti = Object.hasOwn(c, RTTI) ? (c as unknown as Record<symbol, Rtti>)[RTTI] : undefined;
    if (rtti && /^(cdktf|cdktn)\.TerraformStack$/.test(rtti.fqn)) return rtti;
  }
  return undefined;
}

function isFrameworkModule(value: unknown): value is Omit<Framework, 'name' | 'version' | 'path'> {
  return (
    typeof value === 'object' &&
    value !== null &&
    EXPORTS.every((name) => (value as Record<string, unknown>)[name] !== undefined)
  );
}

/** `<dir>/node_modules/<name>` from a file inside the package (its last node_modules segment). */
function packageDirectory(file: string | undefined, name: string): string | undefined {
  if (!file) return undefined;
  const marker = `${path.sep}node_modules${path.sep}${name}${path.sep}`;
  const at = file.lastIndexOf(marker);
  return at < 0 ? undefined : file.slice(0, at + marker.length - 1);
}

function describe(name: string, version: string | undefined, dir: string | undefined): string {
  return `${name} ${version ?? '(version unknown)'} (${dir ?? 'path unknown'})`;
}

function findFramework(stack: IConstruct): Framework {
  const rtti = stackRtti(stack);
  const names: FrameworkName[] = rtti ? [rtti.fqn.split('.')[0] as FrameworkName] : ['cdktf', 'cdktn'];
  const ours: string[] = [];
  for (const name of names) {
    let module: unknown;
    let file: string | undefined;
    try {
      file = moduleRequire.resolve(name);
      module = moduleRequire(name);
    } catch {
      ours.push(`finds no ${name} where it is installed (${packageRoot()})`);
      continue;
    }
    const version = isFrameworkModule(module)
      ? (module.TerraformStack as unknown as Record<symbol, Rtti | undefined>)[RTTI]?.version
      : undefined;
    if (isFrameworkModule(module) && stack instanceof module.TerraformStack)
      return checked(stack, {
        name,
        version: version ?? 'unknown',
        path: packageDirectory(file, name),
        ...pick(module),
      });
    ours.push(
      `loads ${describe(name, version, packageDirectory(file, name))}, another copy whose resources that stack would never synthesize`,
    );
  }
  // Not the copy this package resolves (an npm link, a nested install): the copy that made the stack, if
  // it was loaded through require, is the one whose elements the stack synthesizes.
  const loaded = loadedCopyOf(stack);
  if (loaded) return checked(stack, loaded);
  const theirs = rtti
    ? describe(rtti.fqn.split('.')[0], rtti.version, undefined)
    : 'a framework copy without type information';
  throw new Error(
    `[${stack.node.path}] cdktf-hoststore cannot add its resources to this stack: the stack was made by ${theirs}, but cdktf-hoststore ${ours.join(' and ')}. ` +
      `Make them one copy: run \`npm ls ${names.join(' ')} constructs\`, then \`npm dedupe\`, ` +
      `or install ${names[0]} in the app itself (cdktf-hoststore takes it as a peer dependency: ${names.map((n) => `${n} ${SUPPORTED[n].range}`).join(', ')})`,
  );
}

function pick(module: Omit<Framework, 'name' | 'version' | 'path'>): Omit<Framework, 'name' | 'version' | 'path'> {
  const { TerraformStack, TerraformResource, TerraformOutput, Token } = module;
  return { TerraformStack, TerraformResource, TerraformOutput, Token };
}

/** The loaded module (`require.cache`) whose TerraformStack made `stack`. */
function loadedCopyOf(stack: object): Framework | undefined {
  let cache: Record<string, NodeJS.Module | undefined>;
  try {
    cache = moduleRequire.cache;
    for (const key of Object.keys(cache)) {
      const module = cache[key];
      const exported: unknown = module?.exports;
      if (!isFrameworkModule(exported) || !(stack instanceof exported.TerraformStack)) continue;
      const rtti = (exported.TerraformStack as unknown as Record<symbol, Rtti | undefined>)[RTTI];
      const name = (rtti?.fqn.split('.')[0] ?? 'cdktf') as FrameworkName;
      return {
        name,
        version: rtti?.version ?? 'unknown',
        path: packageDirectory(module?.filename ?? key, name),
        ...pick(exported),
      };
    }
  } catch {
    // A module registry that cannot be listed (a bundler, a test runner's): fall through to the error.
  }
  return undefined;
}

/** Refuses a copy outside the supported versions: its elements may lack what the stack calls. */
function checked(stack: IConstruct, framework: Framework): Framework {
  const supported = SUPPORTED[framework.name];
  const [major, minor] = framework.version.split('.').map(Number);
  if (!supported || major !== 0 || !supported.minors.includes(minor)) {
    throw new Error(
      `[${stack.node.path}] cdktf-hoststore does not support ${describe(framework.name, framework.version, framework.path)}: it needs ` +
        `${Object.entries(SUPPORTED)
          .map(([n, s]) => `${n} ${s.range}`)
          .join(' or ')}. Install a supported version in the app`,
    );
  }
  return framework;
}
