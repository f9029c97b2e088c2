/**
 * Dead-letter store: every rejected message, with its reason, kept for inspection under
 * `DATA_DIR/deadletter/YYYY-MM-DD.jsonl`. Appends are batched (one write per tick) so a flood
 * of bad input costs one syscall per batch, not per message.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'

export interface DeadLetter {
  id: string
  /** Server time it was rejected, ISO 8601. */
  at: string
  /** Which stage refused it: broker, ingest, writer (InfluxDB refused the point). */
  stage: string
  code: string
  reason: string
  topic?: string
  clientId?: string
  /** The payload as received, byte for byte: utf8 text, or base64 when it is not valid UTF-8. */
  payload?: string
  encoding?: 'utf8' | 'base64'
  /** Original size in bytes; the stored payload is cut at MAX_KEPT_BYTES. */
  bytes?: number
  truncated?: boolean
}

export type DeadLetterInput = Omit<DeadLetter, 'id' | 'at' | 'payload' | 'encoding' | 'bytes' | 'truncated'> & {
  payload?: Uint8Array | string
}

const MAX_KEPT_BYTES = 128 * 1024
// ignoreBOM: a leading BOM is part of what was received, not a hint to drop (issue 13).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

function encodePayload(raw: Uint8Array | string): Pick<DeadLetter, 'payload' | 'encoding' | 'bytes' | 'truncated'> {
  const bytes = typeof raw === 'string' ? Buffer.from(raw) : raw
  const kept = bytes.subarray(0, MAX_KEPT_BYTES)
  const truncated = bytes.byteLength > MAX_KEPT_BYTES
  try {
    return { payload: utf8.decode(kept), encoding: 'utf8', bytes: bytes.byteLength, truncated }
  } catch {
    return { payload: Buffer.from(kept).toString('base64'), encoding: 'base64', bytes: bytes.byteLength, truncated }
  }
}

export class DeadLetterStore {
  private queue: string[] = []
  private flushing: Promise<void> | undefined
  private seq = 0
  private readonly prefix = randomBytes(3).toString('hex')

  constructor(
    readonly dir: string,
    private readonly now: () => number = Date.now,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  static forDataDir(dataDir: string, now?: () => number, onError?: (err: unknown) => void): DeadLetterStore {
    return new DeadLetterStore(join(dataDir, 'deadletter'), now, onError)
  }

  /** Queues one entry; it reaches disk within one tick. Returns its id. */
  add(input: DeadLetterInput): string {
    const ms = this.now()
    const id = `${ms.toString(36)}-${this.prefix}-${(this.seq++).toString(36)}`
    const { payload, ...rest } = input
    const entry: DeadLetter = { id, at: new Date(ms).toISOString(), ...rest, ...(payload === undefined ? {} : encodePayload(payload)) }
    this.queue.push(JSON.stringify(entry))
    this.schedule()
    return id
  }

  private schedule(): void {
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flushQueue())
  }

  /** Resolves when everything added so far is on disk. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing
  }

  private failures = 0

  private async flushQueue(): Promise<void> {
    const lines = this.queue
    this.queue = []
    try {
      await mkdir(this.dir, { recursive: true })
      const day = new Date(this.now()).toISOString().slice(0, 10)
      // fsync before the caller acknowledges the message: a dead letter is the only copy left.
      const fh = await open(join(this.dir, `${day}.jsonl`), 'a')
      try {
        await fh.appendFile(`${lines.join('\n')}\n`)
        await fh.datasync()
      } finally {
        await fh.close()
      }
      this.failures = 0
    } catch (err) {
      this.queue.unshift(...lines) // keep them and try again
      this.failures += 1
      this.onError(err)
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 100 * 2 ** this.failures)))
    } finally {
      this.flushing = undefined
    }
    // Entries added while this write was in flight get their own write.
    if (this.queue.length > 0) this.schedule()
  }

  /** Every entry, oldest first. */
  async list(): Promise<DeadLetter[]> {
    await this.flush()
    const files = await readdir(this.dir).catch(() => [] as string[])
    const out: DeadLetter[] = []
    for (const file of files.filter((f) => f.endsWith('.jsonl')).sort()) {
      const text = await readFile(join(this.dir, file), 'utf8')
      for (const line of text.split('\n')) {
        if (!line) continue
        try {
          out.push(JSON.parse(line) as DeadLetter)
        } catch {
          // a line cut by a crash mid-append: skip it, keep the rest
        }
      }
    }
    return out
  }

  async counts(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {}
    for (const e of await this.list()) counts[`${e.stage}/${e.code}`] = (counts[`${e.stage}/${e.code}`] ?? 0) + 1
    return counts
  }
}
