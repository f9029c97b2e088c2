/**
 * Issue 18: `suanyang start` says where the console is, where alerts go and where data is kept:
 * a banner of plain lines (with readable log lines) on a terminal, the same facts as one `ready`
 * JSON log line when the output is a pipe.
 */
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT, makeDataDir } from './helpers/app.js'
import { type Daemon, freePort, spawnDaemon } from './helpers/daemon.js'
import { type ServiceProcess, startServiceProcess } from './helpers/service-process.js'
import { waitFor } from './helpers/wait-for.js'

const stops: Array<() => Promise<unknown>> = []
afterAll(async () => {
  await Promise.all(stops.map((s) => s()))
})

describe('the start banner', () => {
  it('on a terminal (LOG_FORMAT=pretty): readable log lines, then where everything is', async () => {
    const dataDir = await makeDataDir()
    const http = await freePort()
    const lines: string[] = []
    const daemon: Daemon = spawnDaemon(process.execPath, [join(ROOT, 'bin/suanyang.js'), 'start', 'broker', 'ingest', 'alerts', 'console'], {
      label: 'pretty start',
      cwd: ROOT,
      tempDir: dataDir,
      env: { PATH: process.env.PATH ?? '', ENV_FILE: '', LOG_FORMAT: 'pretty', HOST: '127.0.0.1', DATA_DIR: dataDir, MQTT_PORT: '0', MQTT_WS_PORT: '0', HTTP_PORT: String(http), LINE_CHANNEL_ACCESS_TOKEN: 'x', LINE_CHANNEL_SECRET: 'y' },
      onStdoutLine: (line) => lines.push(line),
    })
    stops.push(() => daemon.stop())
    await waitFor(() => lines.some((l) => l.startsWith('  health')), { timeoutMs: 30_000, message: () => `the banner:\n${daemon.outputTail()}` })
    const text = lines.join('\n')
    expect(lines.filter((l) => l.startsWith('{'))).toEqual([])
    expect(text).toMatch(/^\d\d:\d\d:\d\d .*INFO .*registry open/m)
    expect(text).toContain('suanyang is running (Ctrl-C stops it)')
    expect(text).toContain(`  field console  http://127.0.0.1:${http}/console/\n`)
    expect(text).toMatch(new RegExp(`  sign in        http://127\\.0\\.0\\.1:${http}/console/#token=\\S{20,}\\n`))
    expect(text).toContain('  alerts go to   LINE (https://api.line.me), and the console\n')
    expect(text).toContain(`  readings       the local spool ${join(dataDir, 'spool', 'ingest-1')} (set INFLUX_URL to store them in InfluxDB)\n`)
    expect(text).toContain(`  data kept in   ${dataDir}\n`)
    expect(text).toContain(`  registry       sqlite: ${join(dataDir, 'registry.sqlite')}\n`)
  })

  it('piped: JSON only, and one `ready` line with the same facts', async () => {
    const dataDir = await makeDataDir()
    const p: ServiceProcess = await startServiceProcess(['broker', 'alerts', 'console'], { DATA_DIR: dataDir, MQTT_PORT: '0', MQTT_WS_PORT: '0' })
    stops.push(() => p.stop())
    const ready = await waitFor(() => p.logs.find((l) => l.msg === 'ready'), { timeoutMs: 10_000, message: 'the ready line' })
    expect(ready).toMatchObject({
      console: `http://127.0.0.1:${p.httpPort}/console/`,
      alerts: 'the console only (set LINE_CHANNEL_ACCESS_TOKEN or SMS_PROVIDER to reach phones)',
      data: dataDir,
      registry: `sqlite: ${join(dataDir, 'registry.sqlite')}`,
      health: `http://127.0.0.1:${p.httpPort}/healthz`,
    })
    expect(ready).not.toHaveProperty('readings') // no ingest in this process
  })
})
