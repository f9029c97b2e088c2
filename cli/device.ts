import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { KINDS, type Kind, isKind } from '../contracts/names.js'
import { Provisioning, provisioningDocument, secretsHeader } from '../contracts/provisioning.js'
import { openAccountStore } from '../registry/accounts-source.js'
import { AccountError } from '../runtime/accounts.js'
import { createLogger } from '../runtime/logger.js'
import { importOnFirstStart } from './import.js'
import { lanAddress } from '../runtime/lan.js'
import { type CommandIo, fail } from './io.js'
import { actorOf, configFor, openCliRegistry } from './registry-io.js'

const USAGE = `Usage:
  suanyang device add --farm F --kind ${KINDS.join('|')} --id D [--json]
  suanyang device add ... --firmware json|header [--broker mqtts://HOST:8883]
        [--wifi-ssid S --wifi-password P] [--apn APN [--apn-user U --apn-password P]] [--ca FILE]
  suanyang device list [--json]
  suanyang device remove --id D
Devices are kept in the registry (SQLite in DATA_DIR, or DATABASE_URL); a running broker
accepts a device added here, and drops one removed, within a second. --by NAME: who, for the audit log.
--firmware prints what the reference firmware needs instead (firmware/README.md, "Provisioning"):
json, one line to paste into its serial port, or header, a secrets.h to build with. --broker is
the address devices reach the broker at (default: this machine's LAN address and MQTT_PORT).
`

type FirmwareValues = { firmware?: string; broker?: string; 'wifi-ssid'?: string; 'wifi-password'?: string; apn?: string; 'apn-user'?: string; 'apn-password'?: string; ca?: string }
type FirmwareInput = { ok: true; format: 'json' | 'header'; doc: Provisioning; caPem?: string } | { ok: false; reason: string }

/**
 * The provisioning document but its password, checked before the device is registered: a value
 * the firmware would refuse stops here with the field, and nothing is added.
 */
async function firmwareInput(v: FirmwareValues, at: { farm: string; kind: Kind; device: string }, env: NodeJS.ProcessEnv): Promise<FirmwareInput> {
  if (v.firmware !== 'json' && v.firmware !== 'header') return { ok: false, reason: '--firmware must be json or header' }
  const broker = v.broker ?? `mqtt://${lanAddress()}:${env.MQTT_PORT ?? '1883'}`
  const input = {
    v: 1 as const,
    ...at,
    password: 'placeholder-checked-later',
    broker,
    ...(v['wifi-ssid'] !== undefined ? { wifi: { ssid: v['wifi-ssid'], password: v['wifi-password'] ?? '' } } : {}),
    ...(v.apn !== undefined ? { modem: { apn: v.apn, user: v['apn-user'] ?? '', password: v['apn-password'] ?? '' } } : {}),
  }
  const parsed = Provisioning.safeParse(input)
  if (!parsed.success && v['wifi-ssid'] === undefined && v.apn === undefined) return { ok: false, reason: '--firmware needs --wifi-ssid or --apn (how the device gets online)' }
  if (!parsed.success) {
    const first = parsed.error.issues[0]
    const option = { broker: '--broker', 'wifi.ssid': '--wifi-ssid', 'wifi.password': '--wifi-password', 'modem.apn': '--apn', 'modem.user': '--apn-user', 'modem.password': '--apn-password' }[first?.path.join('.') ?? '']
    return { ok: false, reason: `${option ?? first?.path.join('.') ?? 'firmware'}: ${first?.message ?? 'invalid'}` }
  }
  if (v.ca !== undefined && v.firmware === 'json') return { ok: false, reason: '--ca goes into a header build (--firmware header); a serial document trusts public CAs' }
  const caPem = v.ca === undefined ? undefined : await readFile(v.ca, 'utf8').catch(() => undefined)
  if (v.ca !== undefined && !caPem?.includes('-----BEGIN CERTIFICATE-----')) return { ok: false, reason: `--ca ${v.ca}: not a readable PEM certificate` }
  return { ok: true, format: v.firmware, doc: parsed.data, ...(caPem ? { caPem } : {}) }
}

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
      firmware: { type: 'string' },
      broker: { type: 'string' },
      'wifi-ssid': { type: 'string' },
      'wifi-password': { type: 'string' },
      apn: { type: 'string' },
      'apn-user': { type: 'string' },
      'apn-password': { type: 'string' },
      ca: { type: 'string' },
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
        const firmware = values.firmware === undefined ? undefined : await firmwareInput(values, at, io.env)
        if (firmware && !firmware.ok) return fail(io, firmware.reason)
        const creds = await store.addDevice(at)
        if (firmware?.ok) {
          const doc = { ...firmware.doc, password: creds.password }
          io.stdout.write(firmware.format === 'json' ? `${provisioningDocument(doc)}\n` : secretsHeader(Provisioning.parse(doc), firmware.caPem))
          io.stderr.write(`registered ${at.kind} "${at.device}" on farm "${at.farm}"; the ${firmware.format === 'json' ? 'document' : 'header'} holds its password, shown only now\n`)
        } else if (values.json) io.stdout.write(`${JSON.stringify({ ...at, ...creds })}\n`)
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
