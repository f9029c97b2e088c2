/**
 * The gate in front of every patch of another package's internals (issue 20). At broker start,
 * before anything is patched, each patch is checked against the version of its package that is
 * installed (read from its package.json, as Aedes resolves it) and against the shape it patches
 * (probe.ts). One that does not fit stops the broker with one error naming the patch, the package,
 * the version found and the versions known. BROKER_ALLOW_UNKNOWN_PATCH_VERSIONS=1 lets an unknown
 * version through with a warning, for someone testing an upgrade; a shape that moved never passes.
 */
import type { Logger } from '../../runtime/logger.js'
import { connackFirst } from './connack-first.js'
import { dedupe } from './dedupe.js'
import { durableAck } from './durable-ack.js'
import { fastParse } from './fast-parse.js'
import { fastWrite } from './fast-write.js'
import { lean } from './lean.js'
import { matchCache } from './match-cache.js'
import { type Installed, type Patch, type Shapes, installedPackage } from './patch.js'
import { probeShapes } from './probe.js'
import { storePatches } from './store-patches.js'
import { strictParse } from './strict-parse.js'

export { connackFirst, dedupe, durableAck, fastParse, fastWrite, lean, matchCache, storePatches, strictParse }

/** Every patch, in the order the broker installs them. */
export const PATCHES: readonly Patch[] = [lean, fastParse, strictParse, fastWrite, matchCache, durableAck, storePatches, dedupe, connackFirst]

/** `unknownVersion`: the shape fits, only the version is not one the patch was written for. */
export type Verdict = { ok: true; warning?: string } | { ok: false; reason: string; unknownVersion?: true }

const where = (patch: Patch) => `patch ${patch.name} (broker/patches/${patch.name}.ts)`

/** Pure: whether `patch` may be installed on `installed` (undefined: not found) with these shapes. */
export function verdict(patch: Patch, installed: Installed | undefined, shapes: Shapes, allowUnknownVersions = false): Verdict {
  const known = patch.versions.join(', ')
  if (!installed) return { ok: false, reason: `${where(patch)} was written for ${patch.package} ${known}, and no ${patch.package} is installed` }
  const found = `${patch.package} ${installed.version} (${installed.dir})`
  const misfits = patch.check(shapes)
  if (misfits.length > 0) return { ok: false, reason: `${where(patch)} does not fit ${found}: ${misfits.join(', ')}` }
  if (patch.versions.includes(installed.version)) return { ok: true }
  const unknown = `${where(patch)} was written for ${patch.package} ${known}, not ${found}`
  if (allowUnknownVersions) return { ok: true, warning: `${unknown}: running it anyway (BROKER_ALLOW_UNKNOWN_PATCH_VERSIONS)` }
  return { ok: false, reason: unknown, unknownVersion: true }
}

const ADVICE =
  "Check each patch against the version found and add that version to the patch's versions (broker/patches/README.md), or set BROKER_ALLOW_UNKNOWN_PATCH_VERSIONS=1 to try it"


export class PatchRefused extends Error {
  override name = 'PatchRefused'
  readonly code = 'BROKER_PATCH_REFUSED'
}

export interface GateOptions {
  storage: 'level' | 'redis'
  allowUnknownVersions: boolean
  /** Injected by tests; the installed packages otherwise. */
  installed?: (pkg: Patch['package']) => Installed | undefined
  shapes?: Shapes
}

/** The patches this storage uses that may be installed, with the warnings to log; throws PatchRefused otherwise. */
export function checkPatches(opts: GateOptions): { warnings: string[] } {
  const shapes = opts.shapes ?? probeShapes()
  const installed = opts.installed ?? installedPackage
  const warnings: string[] = []
  const refusals: string[] = []
  let unknownVersions = false
  for (const patch of PATCHES) {
    if (patch.storage !== undefined && patch.storage !== opts.storage) continue
    const v = verdict(patch, installed(patch.package), shapes, opts.allowUnknownVersions)
    if (!v.ok) refusals.push(v.reason)
    if (!v.ok && v.unknownVersion) unknownVersions = true
    if (v.ok && v.warning) warnings.push(v.warning)
  }
  if (refusals.length > 0) throw new PatchRefused(`the broker refuses to start: ${refusals.join('; ')}${unknownVersions ? `. ${ADVICE}` : ''}`)
  return { warnings }
}

/** At broker start, before storage or Aedes exist: the gate, then the patches of the MQTT codec. */
export function startPatches(opts: GateOptions & { log: Logger }): void {
  const { warnings } = checkPatches(opts)
  for (const warning of warnings) opts.log.warn({ patchVersionUnknown: true }, `UNTESTED PACKAGE VERSION: ${warning}`)
  lean.install() // before the first packet is parsed or written (see lean.ts)
  fastParse.install()
  strictParse.install()
}
