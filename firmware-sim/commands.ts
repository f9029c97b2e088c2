/**
 * The firmware's command handler (DESIGN.md device contract: `cmd` -> `cmd/ack`). Every command
 * gets an ack, a refused one with a reason. A repeated id (QoS 1 redelivery) is answered again
 * without running twice.
 */
import { type CommandAck, Command } from '../contracts/payloads.js'
import { describeIssues } from '../contracts/decode.js'
import { commandController } from './controller.js'
import type { SimDevice } from './device.js'

export interface CommandReply {
  ack: CommandAck
  /** What the device does after acknowledging. */
  effect: 'none' | 'report' | 'reboot'
}

const REMEMBERED = 16
const MIN_INTERVAL_S = 1
const MAX_INTERVAL_S = 86_400

const refuse = (id: string, error: string): CommandReply => ({ ack: { id, ok: false, error: error.slice(0, 256) }, effect: 'none' })

function idOf(json: unknown): string {
  const id = (json as { id?: unknown } | null)?.id
  return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : 'invalid'
}

function seconds(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= MIN_INTERVAL_S && value <= MAX_INTERVAL_S ? value : undefined
}

export function handleCommand(dev: SimDevice, raw: Buffer, nowMs: number): CommandReply {
  let json: unknown
  try {
    json = JSON.parse(raw.toString('utf8'))
  } catch {
    return refuse('invalid', 'malformed JSON')
  }
  const parsed = Command.safeParse(json)
  if (!parsed.success) return refuse(idOf(json), describeIssues(parsed.error))
  const cmd = parsed.data
  const seen = dev.recentCommands.find((c) => c.id === cmd.id)
  if (seen) return { ack: seen.reply.ack, effect: 'none' }
  const reply = run(dev, cmd, nowMs)
  dev.recentCommands.push({ id: cmd.id, reply })
  if (dev.recentCommands.length > REMEMBERED) dev.recentCommands.shift()
  return reply
}

function run(dev: SimDevice, cmd: Command, nowMs: number): CommandReply {
  const ok: CommandAck = { id: cmd.id, ok: true }
  switch (cmd.cmd) {
    case 'start':
    case 'stop':
    case 'reset': {
      if (dev.at.kind !== 'pump') {
        return cmd.cmd === 'reset' ? { ack: ok, effect: 'none' } : refuse(cmd.id, `a ${dev.at.kind} device has no pump to ${cmd.cmd}`)
      }
      const name = cmd.cmd
      dev.model.updateController((st) => commandController(st, name, nowMs), nowMs)
      return { ack: ok, effect: 'report' }
    }
    case 'set_interval': {
      const s = seconds(cmd.args?.seconds)
      if (s === undefined) return refuse(cmd.id, `args.seconds must be an integer from ${MIN_INTERVAL_S} to ${MAX_INTERVAL_S}`)
      const idle = cmd.args?.idle_seconds
      if (idle !== undefined && seconds(idle) === undefined) return refuse(cmd.id, 'args.idle_seconds is out of range')
      dev.interval_s = s
      if (idle !== undefined) dev.idle_s = idle as number
      return { ack: ok, effect: 'none' }
    }
    case 'reboot':
      return { ack: ok, effect: 'reboot' }
  }
}
