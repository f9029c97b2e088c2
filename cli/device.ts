import { parseArgs } from 'node:util'
import { KINDS, type Kind, isKind } from '../contracts/names.js'
import { openAccountStore } from '../registry/accounts-source.js'
import { AccountError } from '../runtime/accounts.js'
import { createLogger } from '../runtime/logger.js'
import { importOnFirstStart } from './import.js'
import { type CommandIo, fail } from './io.js'
import { actorOf, configFor, openCliRegistry } from './registry-io.js'

const USAGE = `Usage:
  suanyang device add --farm F --kind ${KINDS.join('|')} --id D [--json]
  suanyang device list [--json]
  suanyang device remove --id D
Devices are kept in the registry (SQLite in DATA_DIR, or DATABASE_URL); a running broker
accepts a device added here, and drops one removed, within a second. --by NAME: who, for the audit log.
`

export async function deviceCommand(args: string[], io: CommandIo): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      farm: { type: 'string' },
      kind: { type: 'string' },
      id: { type: 'string' },
      by: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const [action] = positionals
  if (values.help || !action) {
    io.stdout.write(USAGE)
    return values.help ? 0 : 2
  }
  const registry = await openCliRegistry(io)
  if (!registry) return 1
  try {
    const { dataDir } = configFor(io.env)
    // Before this command's own change: an old installation's files come in first, once.
    await importOnFirstStart(registry, dataDir, io.env, createLogger('info', io.stderr))
    const store = await openAccountStore(registry, { dataDir, actor: actorOf(values.by) })
    switch (action) {
      case 'add': {
        if (!values.farm || !values.kind || !values.id) return fail(io, `device add needs --farm, --kind and --id\n${USAGE}`)
        if (!isKind(values.kind)) return fail(io, `--kind must be one of ${KINDS.join(', ')}`)
        const at = { farm: values.farm, kind: values.kind as Kind, device: values.id }
        const creds = await store.addDevice(at)
        if (values.json) io.stdout.write(`${JSON.stringify({ ...at, ...creds })}\n`)
        else {
          io.stdout.write(
            `registered ${at.kind} "${at.device}" on farm "${at.farm}"\n` +
              `  MQTT username: ${creds.username}\n  MQTT password: ${creds.password}\n` +
              `  publish under: farm/${at.farm}/${at.kind}/${at.device}/{telemetry,status,event,cmd/ack}\n` +
              `  commands on:   farm/${at.farm}/${at.kind}/${at.device}/cmd (client id must start with ${at.device})\n` +
              'The password is shown only now; keep it in the device configuration.\n',
          )
        }
        return 0
      }
      case 'list': {
        const devices = store.listDevices()
        if (values.json) io.stdout.write(`${JSON.stringify(devices)}\n`)
        else if (devices.length === 0) io.stdout.write('no devices registered\n')
        else for (const d of devices) io.stdout.write(`${d.farm}\t${d.kind}\t${d.device}\t${d.createdAt}\n`)
        return 0
      }
      case 'remove': {
        if (!values.id) return fail(io, 'device remove needs --id')
        await store.removeDevice(values.id)
        io.stdout.write(`removed "${values.id}"\n`)
        return 0
      }
      default:
        return fail(io, `unknown device action "${action}"\n${USAGE}`)
    }
  } catch (err) {
    if (err instanceof AccountError) return fail(io, err.message, 1)
    throw err
  } finally {
    await registry.close()
  }
}
