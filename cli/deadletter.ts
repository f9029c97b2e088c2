import { parseArgs } from 'node:util'
import { DeadLetterStore } from '../runtime/deadletter.js'
import { type CommandIo, commonConfig, fail } from './io.js'

const USAGE = `Usage:
  suanyang deadletter count [--json]        rejected messages by stage and reason
  suanyang deadletter list [--limit N] [--json]
  suanyang deadletter show <id>             one entry as JSON; the payload byte for byte: UTF-8 text, or base64 ("encoding") when it is not UTF-8
`

export async function deadletterCommand(args: string[], io: CommandIo): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, limit: { type: 'string', default: '50' }, help: { type: 'boolean', short: 'h' } },
  })
  const [action, id] = positionals
  if (values.help || !action) {
    io.stdout.write(USAGE)
    return values.help ? 0 : 2
  }
  const store = DeadLetterStore.forDataDir(commonConfig(io.env).DATA_DIR)
  switch (action) {
    case 'count': {
      const counts = await store.counts()
      if (values.json) io.stdout.write(`${JSON.stringify(counts)}\n`)
      else {
        const rows = Object.entries(counts).sort((a, b) => b[1] - a[1])
        if (rows.length === 0) io.stdout.write('no dead letters\n')
        for (const [key, n] of rows) io.stdout.write(`${String(n).padStart(8)}  ${key}\n`)
      }
      return 0
    }
    case 'list': {
      const limit = Number(values.limit)
      const entries = (await store.list()).slice(-limit)
      if (values.json) io.stdout.write(`${JSON.stringify(entries)}\n`)
      else for (const e of entries) io.stdout.write(`${e.id}  ${e.at}  ${e.stage}/${e.code}  ${e.topic ?? '-'}  ${e.reason.slice(0, 100)}\n`)
      return 0
    }
    case 'show': {
      if (!id) return fail(io, 'deadletter show needs an id')
      const entry = (await store.list()).find((e) => e.id === id)
      if (!entry) return fail(io, `no dead letter "${id}"`, 1)
      io.stdout.write(`${JSON.stringify(entry, null, 2)}\n`)
      return 0
    }
    default:
      return fail(io, `unknown deadletter action "${action}"\n${USAGE}`)
  }
}
