/** `suanyang alerts ...` against a running alert service: list, acknowledge, resolve with a note. */
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { alertsCommand } from '../alerts/cli.js'
import { farmsFileJson } from '../alerts/testing/farms.js'
import { AlertsHarness } from '../alerts/testing/harness.js'
import { pump } from '../alerts/testing/readings.js'
import { waitFor } from './helpers/wait-for.js'

let h: AlertsHarness

beforeAll(async () => {
  h = await AlertsHarness.start({ farms: farmsFileJson({ rules: { offline: { enabled: false } } }), env: { ALERTS_API_TOKEN: 'cli-token' } })
})
afterAll(async () => h.close())

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return cliAs('cli-token', ...args)
}

async function cliAs(token: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        append(chunk.toString())
        done()
      },
    })
  const code = await alertsCommand([...args, '--url', h.baseUrl], {
    env: { ALERTS_API_TOKEN: token },
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
  })
  return { code, out, err }
}

describe('suanyang alerts', () => {
  it('lists, acknowledges and resolves with a note', async () => {
    expect(await cli('list')).toMatchObject({ code: 0, out: 'no alerts\n' })
    h.hub.publish({ ...pump(h.now(), { state: 'fault', fault: 'LOCKED_ROTOR' }), receivedMs: h.now() })
    const listed = await waitFor(async () => {
      const r = await cli('list')
      return r.out.includes('locked_rotor') ? r : undefined
    })
    const id = listed.out.split(' ')[0] ?? ''
    expect(listed.out).toContain('firing  critical  locked_rotor  ranong-01/pump-1')
    expect((await cli('ack', id, '--by', 'Somsak')).code).toBe(0)
    expect((await cli('ack', id, '--by', 'Somsak')).code).toBe(1)
    expect((await cli('resolve', id, '--by', 'Somsak', '--note', 'sand removed')).code).toBe(0)
    expect((await cli('list', '--all', '--json')).out).toContain('sand removed')
    expect(await cli('ack')).toMatchObject({ code: 2, err: expect.stringContaining('needs an alert id and --by') })
  })

  it('says so when the token is wrong', async () => {
    expect(await cliAs('nope', 'list')).toMatchObject({ code: 1, out: 'error: bad or expired sign-in token\n' })
  })
})
