/**
 * A copy of this checkout in a temporary directory whose node_modules holds one package copied
 * with another version in its package.json, and every other package as a symlink to the real
 * one: what `npm install <pkg>@<version>` would leave if that version kept the code. Nothing in
 * the real node_modules is touched, and the code that runs is the real code of every package.
 * Aedes is always copied: Node resolves from a module's real path, so a symlinked Aedes would
 * load its dependencies (mqtt-packet, mqemitter) from the real node_modules, not the overlay.
 */
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT } from './app.js'

/** Not copied: installed packages, history, runtime data. */
const SKIP = new Set(['node_modules', '.git', 'data'])

export interface Overlay {
  root: string
  close(): Promise<void>
}

export async function overlayWithVersion(pkg: string, version: string): Promise<Overlay> {
  const root = await mkdtemp(join(tmpdir(), 'suanyang-overlay-'))
  for (const entry of await readdir(ROOT)) {
    if (!SKIP.has(entry)) await cp(join(ROOT, entry), join(root, entry), { recursive: true })
  }
  const modules = join(root, 'node_modules')
  await mkdir(modules)
  const copied = new Set([pkg, 'aedes'])
  for (const entry of await readdir(join(ROOT, 'node_modules'))) {
    if (copied.has(entry) || entry === '.cache') continue // .cache: bin/suanyang.js builds its own here
    await symlink(join(ROOT, 'node_modules', entry), join(modules, entry))
  }
  for (const entry of copied) await cp(join(ROOT, 'node_modules', entry), join(modules, entry), { recursive: true })
  const manifest = join(modules, pkg, 'package.json')
  const json = JSON.parse(await readFile(manifest, 'utf8')) as { version: string }
  await writeFile(manifest, JSON.stringify({ ...json, version }, null, 2))
  return { root, close: () => rm(root, { recursive: true, force: true }) }
}
