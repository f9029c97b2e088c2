/**
 * In-process hand-off of accepted readings from ingest to the alert engine (issue 5, "every
 * accepted reading is handed to the alert engine in the same process"). Synchronous fan-out: a
 * subscriber that needs I/O queues the work itself; a throwing subscriber is isolated and logged.
 */
import type { TopicAddress } from '../contracts/topics.js'
import type { Logger } from './logger.js'

export interface Reading {
  at: TopicAddress
  payload: Record<string, unknown>
  /** When ingest received it (server clock, epoch ms). */
  receivedMs: number
}

export type ReadingHandler = (reading: Reading) => void

export class ReadingHub {
  private readonly handlers = new Set<ReadingHandler>()
  constructor(private readonly log: Logger) {}

  subscribe(handler: ReadingHandler): () => void {
    this.handlers.add(handler)
    return () => this.handlers.delete(handler)
  }

  get size(): number {
    return this.handlers.size
  }

  publish(reading: Reading): void {
    for (const handler of this.handlers) {
      try {
        handler(reading)
      } catch (err) {
        this.log.error({ err, topic: reading.at }, 'reading subscriber failed')
      }
    }
  }
}
