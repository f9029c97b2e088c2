import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { jsonSchemas } from '../contracts/json-schema.js'
import type { CommandIo } from './io.js'

/** `npm run schema`: the device contract as JSON Schema files, for firmware authors. */
export async function schemaCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args, options: { out: { type: 'string', default: 'schema' } } })
  await mkdir(values.out, { recursive: true })
  for (const [name, schema] of Object.entries(jsonSchemas())) {
    await writeFile(join(values.out, `${name}.schema.json`), `${JSON.stringify(schema, null, 2)}\n`)
    io.stdout.write(`wrote ${join(values.out, `${name}.schema.json`)}\n`)
  }
  return 0
}
