import { type Logger, pino } from 'pino'

export type { Logger }

/** Secrets never reach a log line, wherever they sit in the logged object. */
const REDACT = [
  'password',
  'secret',
  'token',
  '*.password',
  '*.secret',
  '*.token',
  '*.INFLUX_TOKEN',
  '*.LINE_CHANNEL_ACCESS_TOKEN',
  '*.LINE_CHANNEL_SECRET',
]

/** One JSON logger per process; services get child loggers (`log.child({ svc })`). */
export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid } }, destination)
}

export const silentLogger: Logger = pino({ level: 'silent' })
