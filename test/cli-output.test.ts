/**
 * Issue 13: what the CLI prints reaches the program it is piped to, whole, and the dead-letter
 * store gives back exactly the bytes it was given. The real bin script, as a child process with
 * its stdout on a pipe (Node's child pipes are sockets of ~200 KiB, a shell's `|` 64 KiB: the
 * output here is far larger than either, so an exit before stdout drains cuts it).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DeadLetter, DeadLetterStore } from '../runtime/deadletter.js'
import { runCli } from './helpers/app.js'

let dataDir: string

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'suanyang-cli-out-'))
})

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true })
})

/** Payloads a broken device sends: a BOM, invalid UTF-8, NUL, 0xFF. */
const AWKWARD: Record<string, Buffer> = {
  bom: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"ts":1}')]),
  invalidUtf8: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]),
  nul: Buffer.from('{"a":"\u0000"}\u0000', 'utf8'),
  ff: Buffer.from([0xff, 0xfe, 0x00, 0x41]),
}

const bytesOf = (e: DeadLetter) => Buffer.from(e.payload ?? '', e.encoding === 'base64' ? 'base64' : 'utf8')

describe('suanyang deadletter', () => {
  it('list --json of 4 MB through a pipe arrives whole and parses', async () => {
    const store = DeadLetterStore.forDataDir(dataDir)
    for (let i = 0; i < 40; i++) store.add({ stage: 'ingest', code: 'invalid', reason: `big ${i}`, payload: 'y'.repeat(100_000) })
    await store.flush()
    const r = await runCli(['deadletter', 'list', '--json', '--limit', '1000'], { DATA_DIR: dataDir })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.length).toBeGreaterThan(4_000_000)
    const entries = JSON.parse(r.stdout) as DeadLetter[]
    expect(entries.filter((e) => e.reason.startsWith('big '))).toHaveLength(40)
  })

  it('show --json gives back the received bytes exactly: BOM, invalid UTF-8, NUL, 0xFF', async () => {
    const store = DeadLetterStore.forDataDir(dataDir)
    const ids = Object.fromEntries(Object.entries(AWKWARD).map(([name, bytes]) => [name, store.add({ stage: 'broker', code: 'test', reason: name, payload: bytes })]))
    await store.flush()
    for (const [name, bytes] of Object.entries(AWKWARD)) {
      const r = await runCli(['deadletter', 'show', ids[name] ?? ''], { DATA_DIR: dataDir })
      expect(r.code, r.stderr).toBe(0)
      const shown = JSON.parse(r.stdout) as DeadLetter
      expect(shown.bytes, name).toBe(bytes.length)
      expect(bytesOf(shown).equals(bytes), `${name}: ${bytesOf(shown).toString('hex')} != ${bytes.toString('hex')}`).toBe(true)
    }
  })
})
