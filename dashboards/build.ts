/**
 * `npm run dashboards`: writes the provisioned dashboards and the farms' gazetteer (the files
 * are committed; a test fails when they differ from what this generates).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderAll } from './render.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

for (const [path, content] of renderAll()) {
  const target = join(root, path)
  await mkdir(dirname(target), { recursive: true })
  await writeFile(target, content)
  console.log(`wrote ${path}`)
}
