import { describe, expect, it } from 'vitest'
import { errorLine, portVariables, usageLine } from './args.js'

describe('one line per failure (issue 18)', () => {
  it("names the port's variable: set, or by its default; never compose's own ports", () => {
    expect(portVariables(1883, {})).toEqual(['MQTT_PORT'])
    expect(portVariables(8080, { HTTP_PORT: '9090' })).toEqual([])
    expect(portVariables(9090, { HTTP_PORT: '9090', GRAFANA_PORT: '9090' })).toEqual(['HTTP_PORT'])
    expect(portVariables(8883, { MQTT_TLS_PORT: '8883' })).toEqual(['MQTT_TLS_PORT'])
    const inUse = Object.assign(new Error('listen EADDRINUSE: address already in use 0.0.0.0:8083'), { code: 'EADDRINUSE', port: 8083, address: '0.0.0.0' })
    expect(errorLine('start', inUse, {})).toBe(
      'suanyang start: port 8083 on 0.0.0.0 is already in use (another suanyang or server holds it); stop that one or set MQTT_WS_PORT to a free port, e.g. MQTT_WS_PORT=8093',
    )
  })

  it('a parse error is the command, the option and its --help; anything else is not a usage error', () => {
    const missing = Object.assign(new TypeError("Option '--out <value>' argument missing"), { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' })
    expect(usageLine('backup', missing)).toBe('suanyang backup: Option \'--out <value>\' argument missing; run "suanyang backup --help" for its options')
    expect(usageLine('backup', new Error('boom'))).toBeUndefined()
    expect(errorLine('backup', new Error('boom\nsecond line'), {})).toBe('suanyang backup: boom (LOG_LEVEL=debug shows where)')
  })
})
