/**
 * Issue 20: a routine `npm update` must never silently turn a guarantee off. `suanyang start
 * broker` runs, as a user runs it, from a copy of this checkout whose aedes says 1.2.1 (its code
 * unchanged, test/helpers/overlay.ts): the broker must refuse to start, naming every patch of
 * aedes; BROKER_ALLOW_UNKNOWN_PATCH_VERSIONS=1 lets it start with a loud warning.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LogLine } from './helpers/app.js'
import { spawnDaemon } from './helpers/daemon.js'
import { type Overlay, overlayWithVersion } from './helpers/overlay.js'
import { waitFor } from './helpers/wait-for.js'

let overlay: Overlay

beforeAll(async () => {
  overlay = await overlayWithVersion('aedes', '1.2.1')
})
afterAll(async () => {
  await overlay?.close()
})

function startBroker(env: Record<string, string> = {}) {
  const logs: LogLine[] = []
  const daemon = spawnDaemon(process.execPath, [join(overlay.root, 'bin/suanyang.js'), 'start', 'broker'], {
    label: 'broker on aedes 1.2.1',
    cwd: overlay.root,
    env: { PATH: process.env.PATH ?? '', DATA_DIR: join(overlay.root, 'data'), HOST: '127.0.0.1', MQTT_PORT: '0', MQTT_WS_PORT: '0', HTTP_PORT: '0', LOG_LEVEL: 'info', ...env },
    onStdoutLine: (line) => {
      try {
        logs.push(JSON.parse(line) as LogLine)
      } catch {
        // not a log line
      }
    },
  })
  return { daemon, logs }
}

describe('the broker on a patched package version it does not know', () => {
  it('refuses to start, with one error naming each patch, the package, the version found and the version known', async () => {
    const { daemon, logs } = startBroker()
    const listening = () => logs.some((l) => l.msg === 'broker listening')
    await waitFor(() => daemon.hasExited || listening(), { timeoutMs: 30_000, message: () => `the broker to exit:\n${daemon.outputTail()}` })
    await daemon.stop()
    expect(listening()).toBe(false)
    expect((await daemon.exited).code, daemon.outputTail()).toBe(1)
    const failed = logs.find((l) => l.msg === 'start failed')
    const message = String((failed?.err as { message?: string } | undefined)?.message)
    expect(message).toMatch(/^the broker refuses to start: /)
    for (const patch of ['durable-ack', 'store-patches', 'dedupe', 'connack-first']) {
      expect(message).toContain(`patch ${patch} (broker/patches/${patch}.ts) was written for aedes 1.2.0, not aedes 1.2.1 (node_modules/aedes)`)
    }
    expect(message).toMatch(/set BROKER_ALLOW_UNKNOWN_PATCH_VERSIONS=1 to try it$/)
  }, 60_000)

  it('starts with BROKER_ALLOW_UNKNOWN_PATCH_VERSIONS=1, warning once per patch', async () => {
    const { daemon, logs } = startBroker({ BROKER_ALLOW_UNKNOWN_PATCH_VERSIONS: '1' })
    try {
      await waitFor(() => logs.some((l) => l.msg === 'broker listening'), { timeoutMs: 30_000, message: () => `the broker listening:\n${daemon.outputTail()}` })
      const warnings = logs.filter((l) => l.msg.startsWith('UNTESTED PACKAGE VERSION: patch '))
      expect(warnings.map((l) => /patch ([a-z-]+) /.exec(l.msg)?.[1])).toEqual(['durable-ack', 'store-patches', 'dedupe', 'connack-first'])
    } finally {
      await daemon.stop()
    }
  }, 60_000)
})
