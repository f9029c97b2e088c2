import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type DeadLetter, DeadLetterStore } from './deadletter.js'

let dir: string | undefined
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

const bytesOf = (e: DeadLetter) => Buffer.from(e.payload ?? '', e.encoding === 'base64' ? 'base64' : 'utf8')

describe('DeadLetterStore', () => {
  it('keeps the received bytes exactly (issue 13): a leading BOM, invalid UTF-8, NUL, 0xFF, every byte value', async () => {
    dir = await mkdtemp(join(tmpdir(), 'suanyang-dl-'))
    const store = new DeadLetterStore(dir)
    const payloads = [
      Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
      Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]),
      Buffer.from([0x7b, 0xc3, 0x28, 0x7d]),
      Buffer.from([0x00, 0x7b, 0x00]),
      Buffer.from([0xff]),
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      Buffer.from('สวัสดี\u2028\n', 'utf8'),
    ]
    for (const p of payloads) store.add({ stage: 'broker', code: 'test', reason: 'bytes', payload: p })
    await store.flush()
    const back = await new DeadLetterStore(dir).list()
    expect(back.map((e) => bytesOf(e).toString('hex'))).toEqual(payloads.map((p) => p.toString('hex')))
    expect(back.map((e) => e.bytes)).toEqual(payloads.map((p) => p.length))
    // Valid UTF-8 stays readable text; anything else is base64.
    expect(back.map((e) => e.encoding)).toEqual(['utf8', 'utf8', 'base64', 'utf8', 'base64', 'base64', 'utf8'])
  })
})
