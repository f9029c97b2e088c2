/**
 * Pump commands from the page: POST to the alerts API (which publishes on the pump's `cmd` topic
 * and waits for its `cmd/ack`), and the answer, from the API's reply or, when the pump answers
 * late, from the `cmd/ack` the page sees over MQTT. Each pump's line is kept as keys, not text,
 * so it follows a language switch and survives a redraw.
 */
import { request, session } from './api.js'

/**
 * @param {{ api: () => string, t: (key: string, vars?: Record<string, string | number>) => string,
 *   show: (device: string, line: { text: string, detail?: string }) => void }} deps
 */
export function pumpCommands(deps) {
  /** @type {Map<string, { key: string, cmd: string, reason?: string, detail?: string }>} */
  const lines = new Map()
  /** Command id -> pump and command, to match a late cmd/ack. */
  const pending = new Map()

  const text = (line) => ({ text: deps.t(line.key, { cmd: deps.t(`cmd.${line.cmd}`), reason: line.reason ? deps.t(line.reason) : '' }), detail: line.detail })

  function set(device, line) {
    lines.set(device, line)
    deps.show(device, text(line))
  }

  /** @param {string} device @param {{ id: string, ok: boolean, error?: string }} ack */
  function onAck(device, ack) {
    const p = pending.get(ack.id)
    if (!p || p.device !== device) return
    pending.delete(ack.id)
    set(device, ack.ok ? { key: 'cmd.acked', cmd: p.cmd } : { key: 'cmd.refused', cmd: p.cmd, detail: ack.error })
  }

  /** @param {{ farm: string, device: string }} device @param {string} cmd */
  async function send(device, cmd) {
    set(device.device, { key: 'cmd.sending', cmd })
    const r = await request('POST', `${deps.api()}commands`, {
      auth: true,
      body: { farm: device.farm, device: device.device, cmd, by: session.name || 'console', wait: true },
      timeoutMs: 30_000,
    })
    if (!r.ok) return set(device.device, { key: 'cmd.failed', cmd, reason: r.error, detail: r.detail })
    const record = r.body.command
    pending.set(record.id, { device: device.device, cmd })
    if (record.ack) onAck(device.device, record.ack)
    else set(device.device, { key: 'cmd.noAnswer', cmd })
  }

  return {
    send,
    onAck,
    /** The line of a pump in the current language. @param {string} device */
    status: (device) => {
      const line = lines.get(device)
      return line ? text(line) : { text: '' }
    },
  }
}
