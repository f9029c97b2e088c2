/**
 * What every patch of another package's internals declares (issue 20): the package whose
 * internals it replaces, the exact versions it was written against, the clause (or the reason)
 * it exists for, a shape check, and its install function. index.ts refuses to start the broker
 * when a patch meets a version it does not know or a shape that moved: a routine `npm update`
 * must not silently turn a guarantee off.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'

const fromProject = createRequire(import.meta.url)
/**
 * Loads a module as Aedes itself resolves it (mqtt-packet, its parser, mqemitter): the copy Aedes
 * uses, so a patch on it takes effect.
 */
export const fromAedes = createRequire(fromProject.resolve('aedes'))

export const PATCHED_PACKAGES = ['aedes', 'mqtt-packet', 'mqemitter'] as const
export type PatchedPackage = (typeof PATCHED_PACKAGES)[number]

/** Where each package is looked up: Aedes' own dependencies as Aedes finds them, the rest as this project does. */
const RESOLVERS: Record<PatchedPackage, NodeJS.Require> = {
  aedes: fromProject,
  'mqtt-packet': fromAedes,
  mqemitter: fromAedes,
}

export interface Installed {
  version: string
  /** The package's directory, relative to the working directory (for the error message). */
  dir: string
}

/**
 * The installed version of `pkg`, read from its package.json: the nearest one above the file it
 * resolves to that carries its name (aedes exports no `./package.json`, so it cannot be required).
 */
export function installedPackage(pkg: PatchedPackage): Installed | undefined {
  let dir: string
  try {
    dir = dirname(RESOLVERS[pkg].resolve(pkg))
  } catch {
    return undefined
  }
  for (;;) {
    try {
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown }
      if (json.name === pkg && typeof json.version === 'string') return { version: json.version, dir: relative(process.cwd(), dir) || '.' }
    } catch {
      // no package.json here: one level up
    }
    const up = dirname(dir)
    if (up === dir) return undefined
    dir = up
  }
}

/**
 * The real objects a shape check looks at, made as the broker makes them (probe.ts): the
 * modules Aedes loads, and an Aedes instance that never listens with a client it made on an
 * in-memory stream. (The storage is the broker's own, broker/storage/: nothing there is patched.)
 */
export interface Shapes {
  /** mqtt-packet, the copy Aedes loads. */
  mqttPacket: object
  /** mqtt-packet's Parser class, and a parser made by it. */
  Parser: { prototype: object }
  parser: object
  /** mqtt-packet's Packet class, and the BufferList class its parser takes from bl. */
  Packet: unknown
  BufferList: unknown
  Aedes: { prototype: object }
  /** An Aedes instance (constructed, not listening). */
  broker: object
  /** A Client that instance made for a connection. */
  client: object
  /** A persistence to check store-patches against, when a test gives one (it checks the store it is installed on itself). */
  persistence?: object
}

export interface Patch<Install extends (...args: never[]) => unknown = (...args: never[]) => unknown> {
  /** Its file in broker/patches/, without `.ts`. */
  readonly name: string
  readonly package: PatchedPackage
  /** Exact versions it was written and tested against (package.json pins the first). */
  readonly versions: readonly string[]
  /** The MQTT clause it makes the broker keep, or why it exists. */
  readonly clause: string
  /** Installed only with this storage (always when absent). */
  readonly storage?: 'level'
  /** What of the patched package is missing or different: [] when the patch fits. */
  check(shapes: Shapes): string[]
  readonly install: Install
}

export const definePatch = <Install extends (...args: never[]) => unknown>(patch: Patch<Install>): Patch<Install> => patch

const valueOf = (obj: unknown, name: PropertyKey): unknown =>
  obj !== null && (typeof obj === 'object' || typeof obj === 'function') ? (obj as Record<PropertyKey, unknown>)[name] : undefined

/** A problem unless `obj[name]` is a function declaring `arity` parameters. */
export function fn(where: string, obj: unknown, name: string, arity?: number): string | undefined {
  const f = valueOf(obj, name)
  if (typeof f !== 'function') return `${where}.${name} is not a function`
  if (arity !== undefined && f.length !== arity) return `${where}.${name} takes ${f.length} arguments, not ${arity}`
  return undefined
}

/** A problem unless `obj[name]` is of `type`. */
export function prop(where: string, obj: unknown, name: string, type: 'boolean' | 'number' | 'string' | 'object' | 'function'): string | undefined {
  const v = valueOf(obj, name)
  const actual = v === null ? 'null' : typeof v
  return actual === type ? undefined : `${where}.${name} is ${actual}, not ${type}`
}

/** An instance of `cls` made without arguments, or undefined when it is no class. */
export const construct = (cls: unknown): Record<string, unknown> | undefined =>
  typeof cls === 'function' ? (new (cls as new () => Record<string, unknown>)() as Record<string, unknown>) : undefined

/** The problems among `checks` (undefined: that one fits). */
export const problems = (...checks: Array<string | undefined>): string[] => checks.filter((c): c is string => c !== undefined)
