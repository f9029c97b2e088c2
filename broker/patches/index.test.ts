import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PATCHES, PatchRefused, checkPatches, connackFirst, durableAck, strictParse, verdict } from './index.js'
import { type Installed, type Shapes, installedPackage } from './patch.js'
import { probeShapes } from './probe.js'

const ROOT = join(import.meta.dirname, '../..')
const level = probeShapes()
const real = (pkg: Parameters<typeof installedPackage>[0]) => installedPackage(pkg)
const bumped = (pkg: string, version: string) => (p: Parameters<typeof installedPackage>[0]) => (p === pkg ? { version, dir: `node_modules/${p}` } : real(p))

/** The real object with one member gone, as a version that renamed it would have it. */
function without<T extends object>(obj: T, name: string): T {
  return new Proxy(obj, {
    get: (target, key) => (key === name ? undefined : Reflect.get(target, key, target)),
    has: (target, key) => key !== name && Reflect.has(target, key),
  })
}

describe('the patch gate', () => {
  it('every patch fits the packages installed here, with either storage', () => {
    expect(checkPatches({ storage: 'level', allowUnknownVersions: false })).toEqual({ warnings: [] })
    expect(checkPatches({ storage: 'redis', allowUnknownVersions: false })).toEqual({ warnings: [] })
    for (const patch of PATCHES) expect(verdict(patch, real(patch.package), level), patch.name).toEqual({ ok: true })
  })

  it('refuses a version it was not written for, naming the patch, the package, the version found and those known', () => {
    expect(verdict(connackFirst, { version: '1.3.0', dir: 'node_modules/aedes' }, level)).toEqual({
      ok: false,
      reason: 'patch connack-first (broker/patches/connack-first.ts) was written for aedes 1.2.0, not aedes 1.3.0 (node_modules/aedes)',
      unknownVersion: true,
    })
    expect(verdict(connackFirst, undefined, level)).toEqual({ ok: false, reason: expect.stringContaining('no aedes is installed') })
  })

  it('lets an unknown version through with a warning when asked to, but never a shape that moved', () => {
    const found: Installed = { version: '1.3.0', dir: 'node_modules/aedes' }
    expect(verdict(connackFirst, found, level, true)).toEqual({ ok: true, warning: expect.stringContaining('running it anyway') })
    const renamed: Shapes = { ...level, client: without(level.client, 'deliverQoS') }
    expect(verdict(connackFirst, found, renamed, true)).toEqual({ ok: false, reason: expect.stringContaining('an Aedes client.deliverQoS is not a function') })
  })

  it('refuses a shape that moved on the version it knows: a method gone, an arity changed', () => {
    const noParseString: Shapes = { ...level, Parser: { prototype: without(level.Parser.prototype, '_parseString') } }
    expect(verdict(strictParse, real('mqtt-packet'), noParseString)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^patch strict-parse \(broker\/patches\/strict-parse\.ts\) does not fit mqtt-packet 9\.0\.2 .*: Parser\.prototype\._parseString is not a function$/),
    })
    const publishTakesTwo = { ...level, Aedes: { prototype: { publish: (_p: unknown, _c: unknown) => undefined } } }
    expect(verdict(durableAck, real('aedes'), publishTakesTwo)).toEqual({ ok: false, reason: expect.stringContaining('Aedes.prototype.publish takes 2 arguments, not 3') })
  })

  it('throws one error naming every patch that does not fit; level-only patches are not checked under Redis', () => {
    const refused = (storage: 'level' | 'redis') => {
      try {
        checkPatches({ storage, allowUnknownVersions: false, installed: bumped('aedes', '1.2.1') })
      } catch (err) {
        expect(err).toBeInstanceOf(PatchRefused)
        expect((err as Error).message).toMatch(/^the broker refuses to start: patch .* or set BROKER_ALLOW_UNKNOWN_PATCH_VERSIONS=1 to try it$/)
        return [...(err as Error).message.matchAll(/patch ([a-z-]+) \(/g)].map((m) => m[1])
      }
      return []
    }
    expect(refused('level')).toEqual(['durable-ack', 'store-patches', 'dedupe', 'connack-first'])
    expect(refused('redis')).toEqual(['store-patches', 'dedupe', 'connack-first'])
    expect(checkPatches({ storage: 'level', allowUnknownVersions: true, installed: bumped('aedes', '1.2.1') }).warnings).toHaveLength(4)
  })

  it('each patch has its file and test, and package.json pins the version it was written for', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; overrides: Record<string, Record<string, string>> }
    for (const patch of PATCHES) {
      expect(existsSync(join(ROOT, `broker/patches/${patch.name}.ts`)), patch.name).toBe(true)
      expect(existsSync(join(ROOT, `broker/patches/${patch.name}.test.ts`)), `${patch.name}.test.ts`).toBe(true)
      const pin = pkg.dependencies[patch.package] ?? pkg.overrides.aedes?.[patch.package]
      expect(pin, `${patch.package} pinned for ${patch.name}`).toBe(patch.versions[0])
    }
  })
})
