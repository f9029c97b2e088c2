import { describe, expect, it } from 'vitest'
import { createLogger } from './logger.js'
import { prettyDestination, prettyLine, wantsPretty } from './log-pretty.js'

/** What a person reads on a terminal (issue 18): pino's JSON as one plain line each. */
describe('prettyLine', () => {
  const at = new Date(2026, 2, 1, 7, 4, 31).getTime()

  it('time, level, service, message, then the fields; pid and hostname left out', () => {
    const json = JSON.stringify({ level: 30, time: at, pid: 42, hostname: 'farm', svc: 'broker', msg: 'broker listening', ports: { tcp: 1883 }, storage: 'level' })
    expect(prettyLine(json, { color: false })).toBe('07:04:31 INFO  broker broker listening  ports={"tcp":1883} storage=level')
  })

  it('an error as its type, code and message (the stack stays in the JSON form); quotes where a value has spaces', () => {
    const json = JSON.stringify({ level: 50, time: at, msg: 'close failed', err: { type: 'Error', code: 'EPIPE', message: 'write EPIPE', stack: 'Error: write EPIPE\n    at x' }, reason: 'two words' })
    expect(prettyLine(json, { color: false })).toBe('07:04:31 ERROR close failed  err="Error EPIPE: write EPIPE" reason="two words"')
  })

  it('a line that is not JSON passes as it is; colour only when asked', () => {
    expect(prettyLine('not json', { color: true })).toBe('not json')
    expect(prettyLine(JSON.stringify({ level: 40, time: at, msg: 'slow' }), { color: true })).toBe('\u001b[90m07:04:31\u001b[0m \u001b[33mWARN \u001b[0m slow')
  })

  it('through pino: redaction still applies, lines split across writes are whole', () => {
    let out = ''
    const sink = { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream
    const log = createLogger('info', prettyDestination(sink, { color: false }))
    log.info({ token: 'secret-value', farm: 'ranong-01' }, 'hello')
    expect(out).toMatch(/^\d\d:\d\d:\d\d INFO {2}hello {2}token=\[redacted\] farm=ranong-01\n$/)
  })

  it('LOG_FORMAT decides, else a terminal gets pretty and a pipe JSON', () => {
    const tty = { isTTY: true } as unknown as NodeJS.WritableStream
    const pipe = {} as NodeJS.WritableStream
    expect([wantsPretty('auto', tty), wantsPretty(undefined, pipe), wantsPretty('json', tty), wantsPretty('pretty', pipe)]).toEqual([true, false, false, true])
  })
})
