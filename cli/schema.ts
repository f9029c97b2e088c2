import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { jsonSchemas } from '../contracts/json-schema.js'
import { parseCommand } from './args.js'
import type { CommandIo } from './io.js'

/** `npm run schema`: the device contract as JSON Schema files, for firmware authors. */
export async function schemaCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseCommand('schema', { args, options: { out: { type: 'string', default: 'schema' }, help: { type: 'boolean', short: 'h' } } })
  if (values.help) {
    io.stdout.write('Usage: suanyang schema [--out DIR]\nWrites the device contract as JSON Schema files into DIR (default ./schema), for firmware authors.\n')
    return 0
  }
  await mkdir(values.out, { recursive: true })
  for (const [name, schema] of Object.entries(jsonSchemas())) {
    await writeFile(join(values.out, `${name}.schema.json`), `${JSON.stringify(schema, null, 2)}\n`)
    io.stdout.write(`wrote ${join(values.out, `${name}.schema.json`)}\n`)
  }
  return 0
}
