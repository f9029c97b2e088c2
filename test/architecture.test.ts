/**
 * Import boundaries (DESIGN.md "Shape"): services never import each other; they share only the
 * contracts, the runtime plumbing and the registry (issue 14: farms, devices, people), which
 * imports no service. cli/ is the composition root. A regex over import
 * specifiers is enough: every relative import in this repo is a plain string.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative, resolve, dirname } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from './helpers/app.js'

const RULES: Record<string, readonly string[]> = {
  contracts: ['contracts'],
  // runtime/service.ts names the registry's type for `ctx.registry` (the registry imports no runtime).
  runtime: ['contracts', 'runtime', 'registry'],
  registry: ['contracts', 'runtime', 'registry'],
  broker: ['contracts', 'runtime', 'registry', 'broker'],
  ingest: ['contracts', 'runtime', 'registry', 'ingest'],
  alerts: ['contracts', 'runtime', 'registry', 'alerts'],
  'firmware-sim': ['contracts', 'runtime', 'registry', 'firmware-sim'],
  dashboards: ['contracts', 'dashboards'],
  console: ['contracts', 'runtime', 'registry', 'console'],
  cli: ['contracts', 'runtime', 'registry', 'cli', 'broker', 'ingest', 'alerts', 'firmware-sim', 'dashboards', 'console'],
}
/** The pure contracts module may use zod and nothing else from npm or node. */
const CONTRACTS_PACKAGES = new Set(['zod'])

const IMPORT = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (name === 'node_modules' || name.startsWith('.')) return []
    if (statSync(path).isDirectory()) return tsFiles(path)
    return name.endsWith('.ts') ? [path] : []
  })
}

export function importsOf(source: string): string[] {
  return [...source.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3] ?? '').filter(Boolean)
}

const topFolder = (path: string) => relative(ROOT, path).split('/')[0] ?? ''

describe('architecture', () => {
  const violations: string[] = []
  for (const folder of Object.keys(RULES)) {
    const files = existsSync(join(ROOT, folder)) ? tsFiles(join(ROOT, folder)) : []
    for (const file of files) {
      if (file.endsWith('.test.ts')) continue
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.')) {
          const target = topFolder(resolve(dirname(file), spec))
          if (!RULES[folder]?.includes(target)) violations.push(`${relative(ROOT, file)} imports ${spec} (${folder} -> ${target})`)
        } else if (folder === 'contracts' && !CONTRACTS_PACKAGES.has(spec)) {
          violations.push(`${relative(ROOT, file)} imports ${spec}: contracts must stay pure`)
        }
      }
    }
  }

  it('services import only the contracts, the runtime, the registry and themselves', () => {
    expect(violations).toEqual([])
  })

  it('catches a violation (the check itself works)', () => {
    expect(importsOf(`import { x } from '../ingest/index.js'\nconst m = await import('../alerts/a.js')\nimport '../broker/b.js'`)).toEqual([
      '../ingest/index.js',
      '../alerts/a.js',
      '../broker/b.js',
    ])
  })
})
