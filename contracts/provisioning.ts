/**
 * The provisioning document (issue 19): what one device needs to join an installation, written by
 * `suanyang device add --firmware json` and read by the firmware over its serial port (or built
 * into `secrets.h` with `--firmware header`). One JSON object on one line, at most 1,024 bytes,
 * so the device reads it into a fixed buffer. The firmware core's parser
 * (`firmware/core/provision.cpp`) accepts exactly what this schema accepts;
 * `test/firmware-provision.test.ts` runs both over the same documents.
 *
 * ```json
 * {"v":1,"farm":"demo-01","kind":"pump","device":"demo-01-pump","password":"...",
 *  "broker":"mqtts://broker.example.org:8883","wifi":{"ssid":"farm-office","password":"..."}}
 * ```
 * `broker` is `mqtt://` or `mqtts://` host and port (no user, path or query: the credentials are
 * their own fields). Wi-Fi, or a 4G modem's APN, or both: the device needs a way out.
 */
import { z } from 'zod'
import { ID_PATTERN, KINDS } from './names.js'

export const PROVISIONING_VERSION = 1
/** The device's line buffer: a longer document is refused whole, never cut. */
export const PROVISIONING_MAX_BYTES = 1024

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
/** mqtt[s]://host[:port]; a host name or dotted IPv4 (the firmware resolves names itself). */
export const BROKER_URL = new RegExp(`^(mqtts?)://(${HOST.source.slice(1, -1)})(?::([0-9]{1,5}))?$`)

/** Printable ASCII: passwords and the APN go into C strings and AT commands unchanged. */
const PRINTABLE = /^[\x21-\x7e]*$/

/** No C0 control and no DEL (an SSID is shown on phones and in logs). */
const noControls = (s: string): boolean => [...s].every((ch) => (ch.codePointAt(0) ?? 0) >= 0x20 && ch !== '\x7f')

export function parseBrokerUrl(url: string): { tls: boolean; host: string; port: number } | undefined {
  const m = BROKER_URL.exec(url)
  if (!m || (m[2] ?? '').length > 253) return undefined
  const tls = m[1] === 'mqtts'
  const port = m[3] === undefined ? (tls ? 8883 : 1883) : Number(m[3])
  if (port < 1 || port > 65535) return undefined
  return { tls, host: m[2] ?? '', port }
}

export const Provisioning = z.strictObject({
  v: z.literal(PROVISIONING_VERSION),
  farm: z.string().regex(ID_PATTERN),
  kind: z.enum(KINDS),
  device: z.string().regex(ID_PATTERN),
  password: z.string().min(8).max(128).regex(PRINTABLE),
  broker: z.string().max(300).refine((u) => parseBrokerUrl(u) !== undefined, 'mqtt:// or mqtts:// host and port'),
  wifi: z
    .strictObject({
      // 802.11: an SSID is 1-32 bytes; WPA2-PSK passphrases 8-63 characters, or none for an open network.
      ssid: z.string().min(1).refine((s) => Buffer.byteLength(s) <= 32, 'at most 32 bytes').refine(noControls, 'no control characters').refine((s) => !/\p{Cs}/u.test(s), 'well-formed Unicode'),
      password: z.union([z.literal(''), z.string().min(8).max(63).regex(/^[\x20-\x7e]*$/)]).default(''),
    })
    .optional(),
  modem: z
    .strictObject({
      apn: z.string().min(1).max(63).regex(PRINTABLE),
      user: z.string().max(63).regex(PRINTABLE).default(''),
      password: z.string().max(63).regex(PRINTABLE).default(''),
    })
    .optional(),
})
  .refine((p) => p.wifi !== undefined || p.modem !== undefined, { message: 'needs wifi or modem', path: ['wifi'] })
export type Provisioning = z.output<typeof Provisioning>

export type ProvisioningVerdict = { ok: true; doc: Provisioning } | { ok: false; field: string; reason: string }

/**
 * A document as the device reads it: its bytes (at most 1,024), JSON, then the schema. What the
 * firmware accepts, exactly (test/firmware-provision.test.ts holds the two side by side).
 */
export function parseProvisioningText(bytes: Uint8Array): ProvisioningVerdict {
  if (bytes.length > PROVISIONING_MAX_BYTES) return { ok: false, field: '', reason: `longer than ${PROVISIONING_MAX_BYTES} bytes` }
  let value: unknown
  try {
    // Fatal: ill-formed UTF-8 is refused, never read as U+FFFD (the firmware checks its bytes).
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes))
  } catch {
    return { ok: false, field: '', reason: 'malformed JSON' }
  }
  const parsed = Provisioning.safeParse(value)
  if (parsed.success) return { ok: true, doc: parsed.data }
  const first = parsed.error.issues[0]
  return { ok: false, field: first?.path.join('.') ?? '', reason: first?.message ?? 'invalid' }
}

/** The document for one device, checked: a value the device would refuse throws here, before anyone flashes it. */
export function provisioningDocument(input: z.input<typeof Provisioning>): string {
  const doc = Provisioning.parse(input)
  const text = JSON.stringify(doc)
  const verdict = parseProvisioningText(Buffer.from(text))
  if (!verdict.ok) throw new RangeError(`provisioning document refused: ${verdict.field} ${verdict.reason}`)
  return text
}

/** C string literal: the values are checked printable (ASCII, or an SSID's UTF-8, written as octal escapes). */
function cString(s: string): string {
  let out = '"'
  for (const byte of Buffer.from(s, 'utf8')) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte)
    else out += `\\${byte.toString(8).padStart(3, '0')}`
  }
  return `${out}"`
}

/**
 * `secrets.h` for firmware/src (the build-time alternative to provisioning over serial): the same
 * values, as firmware/src/secrets.example.h names them. `caPem` is the broker's CA for mqtts://
 * with a private CA; without it the ESP-IDF certificate bundle (public CAs) is used.
 */
export function secretsHeader(doc: Provisioning, caPem?: string): string {
  const lines = [
    `// Generated by suanyang device add --firmware header for ${doc.kind} "${doc.device}" on farm "${doc.farm}".`,
    '// It holds the device\'s MQTT password: keep it out of version control (firmware/.gitignore does).',
    '#pragma once',
    `#define SY_FARM ${cString(doc.farm)}`,
    `#define SY_DEVICE ${cString(doc.device)}`,
    `#define SY_KIND_NAME ${cString(doc.kind)}`,
    `#define SY_PASSWORD ${cString(doc.password)}`,
    `#define SY_BROKER ${cString(doc.broker)}`,
    `#define SY_WIFI_SSID ${cString(doc.wifi?.ssid ?? '')}`,
    `#define SY_WIFI_PASS ${cString(doc.wifi?.password ?? '')}`,
    `#define SY_MODEM_APN ${cString(doc.modem?.apn ?? '')}`,
    `#define SY_MODEM_USER ${cString(doc.modem?.user ?? '')}`,
    `#define SY_MODEM_PASS ${cString(doc.modem?.password ?? '')}`,
  ]
  if (caPem) lines.push(`#define SY_CA_PEM ${caPem.split(/(?<=\n)/).map(cString).join(' \\\n  ')}`)
  else lines.push('#define SY_CA_PEM nullptr  // mqtts:// against a public CA: the ESP-IDF certificate bundle')
  return `${lines.join('\n')}\n`
}
