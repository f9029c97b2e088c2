/**
 * Durable spool between MQTT and InfluxDB: append-only segment files of line protocol.
 * Group commit: every line appended while one write+fdatasync is in flight goes into the next
 * write, so a burst costs one fsync per batch. A line is acknowledged to the broker only after
 * its fsync, and deleted (its segment removed) only after InfluxDB confirmed it. After a crash
 * the segments from the last checkpoint are replayed; replays overwrite themselves in InfluxDB
 * (same series, same timestamp), so at-least-once here is exactly-once there.
 */
import { mkdir, open, readdir, readFile, rm, stat, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../runtime/files.js'

export interface SpoolOptions {
  /** Roll to a new segment past this size. */
  segmentBytes?: number
  /** Told how long each group commit (write + fdatasync) took: a slow disk shows here first. */
  onCommit?: (seconds: number) => void
}

export interface Cursor {
  segment: number
  offset: number
}

/** Durable lines as the spool holds them: bytes, not strings, so the writer can post them as they are. */
export class SpoolBatch {
  constructor(
    /** The lines joined by newlines, without the last one: a line-protocol request body. */
    readonly data: Buffer,
    /** How many lines. */
    readonly count: number,
    /** Where the batch ends; pass it to confirm() once InfluxDB stored the lines. */
    readonly end: Cursor,
  ) {}

  /**
   * The lines as strings: only when a refused batch has to be narrowed down. A newline always
   * ends a reading: contracts/points.ts never writes one inside a line (issue 13).
   */
  get lines(): string[] {
    return this.data.toString('utf8').split('\n').filter((l) => l.length > 0)
  }
}

function countLines(data: Buffer): number {
  let n = 0
  for (let i = data.indexOf(10); i >= 0; i = data.indexOf(10, i + 1)) n++
  return n
}

const name = (n: number) => `seg-${String(n).padStart(10, '0')}.lp`
const parseName = (f: string) => (/^seg-(\d{10})\.lp$/.exec(f)?.[1] ? Number(f.slice(4, 14)) : undefined)

interface Waiter {
  resolve(): void
  reject(err: unknown): void
}

export class Spool {
  private active!: { n: number; fh: FileHandle; size: number; durable: number }
  private readonly sizes = new Map<number, number>() // durable size of every segment on disk
  /** Appended groups not yet written, each already joined and newline-terminated. */
  private pending: string[] = []
  private waiters: Waiter[] = []
  private writing: Promise<void> | undefined
  private read: Cursor
  private committed: Cursor
  private checkpointAt = 0
  private checkpointing: Promise<void> | undefined
  private readonly listeners = new Set<() => void>()

  private constructor(
    readonly dir: string,
    private readonly segmentBytes: number,
    start: Cursor,
    private readonly onCommit?: (seconds: number) => void,
  ) {
    this.read = { ...start }
    this.committed = { ...start }
  }

  static async open(dir: string, opts: SpoolOptions = {}): Promise<Spool> {
    await mkdir(dir, { recursive: true })
    const segments = (await readdir(dir)).map(parseName).filter((n): n is number => n !== undefined).sort((a, b) => a - b)
    const saved = await readFile(join(dir, 'checkpoint.json'), 'utf8').then((t) => JSON.parse(t) as Cursor, () => undefined)
    const first = segments[0] ?? 1
    const start = saved && segments.includes(saved.segment) ? saved : { segment: first, offset: 0 }
    const spool = new Spool(dir, opts.segmentBytes ?? 8 * 1024 * 1024, start, opts.onCommit)
    for (const n of segments) {
      if (n < start.segment) await rm(join(dir, name(n)), { force: true })
      else spool.sizes.set(n, (await stat(join(dir, name(n)))).size)
    }
    const last = segments.at(-1) ?? 0
    await spool.roll(last + 1)
    return spool
  }

  /** Bytes written and not yet confirmed by InfluxDB. */
  get bytes(): number {
    let total = this.pendingBytes
    for (const [n, size] of this.sizes) if (n >= this.committed.segment) total += size - (n === this.committed.segment ? this.committed.offset : 0)
    return total
  }

  private pendingBytes = 0

  /** Appends lines; resolves once they are on disk (fdatasync). */
  append(lines: readonly string[]): Promise<void> {
    if (lines.length > 0) {
      const text = `${lines.join('\n')}\n`
      this.pending.push(text)
      this.pendingBytes += text.length
    }
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }))
    this.writing ??= this.commitLoop()
    return done
  }

  private async commitLoop(): Promise<void> {
    // Yield first: with nothing to write the loop would otherwise finish (and clear `writing`)
    // before append() stored this very promise there, leaving close() waiting on it for ever.
    await Promise.resolve()
    while (this.pending.length > 0 || this.waiters.length > 0) {
      const lines = this.pending
      const waiters = this.waiters
      this.pending = []
      this.waiters = []
      this.pendingBytes = 0
      try {
        const data = Buffer.from(lines.length === 1 ? (lines[0] as string) : lines.join(''))
        const a = this.active
        if (data.length > 0) {
          const started = performance.now()
          await a.fh.write(data, 0, data.length, a.size)
          await a.fh.datasync()
          this.onCommit?.((performance.now() - started) / 1000)
        }
        a.size += data.length
        a.durable = a.size
        this.sizes.set(a.n, a.size)
        for (const w of waiters) w.resolve()
        for (const fn of this.listeners) fn()
        if (a.size >= this.segmentBytes) await this.roll(a.n + 1)
      } catch (err) {
        for (const w of waiters) w.reject(err)
      }
    }
    this.writing = undefined
  }

  private async roll(n: number): Promise<void> {
    const old = this.active
    const fh = await open(join(this.dir, name(n)), 'a+')
    this.active = { n, fh, size: 0, durable: 0 }
    this.sizes.set(n, 0)
    await old?.fh.close()
  }

  /** Calls `fn` whenever new lines become durable (the writer waits on it). */
  onData(fn: () => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  /**
   * Durable, unread lines, oldest first: as many whole lines as fit in `maxBytes`, or the first
   * line alone when it is longer. Reading moves the read cursor;
   * rewind() puts it back at the last confirmed position (after a failed write).
   */
  async next(maxBytes: number): Promise<SpoolBatch | undefined> {
    for (;;) {
      const { segment, offset } = this.read
      const size = this.sizes.get(segment)
      if (size === undefined) return undefined
      if (offset >= size) {
        if (segment >= this.active.n) return undefined
        this.read = { segment: segment + 1, offset: 0 }
        continue
      }
      const fh = segment === this.active.n ? this.active.fh : await open(join(this.dir, name(segment)), 'r')
      try {
        // A batch is whole lines: those that fit in maxBytes, or else the first line alone, read
        // on past maxBytes (a line can be longer than a small INGEST_BATCH_BYTES). No newline up
        // to the durable end is a torn tail from a crash: never acknowledged, skipped.
        let length = Math.min(maxBytes, size - offset)
        for (let grown = false; ; grown = true) {
          const buf = Buffer.allocUnsafe(length)
          const { bytesRead } = await fh.read(buf, 0, length, offset)
          const read = buf.subarray(0, bytesRead)
          const end = grown ? read.indexOf(10) : read.lastIndexOf(10)
          if (end >= 0) {
            this.read = { segment, offset: offset + end + 1 }
            const data = buf.subarray(0, end + 1)
            return new SpoolBatch(data.subarray(0, end), countLines(data), { ...this.read })
          }
          if (bytesRead < length || offset + length >= size) break
          length = Math.min(length * 2, size - offset)
        }
        this.read = { segment, offset: size }
      } finally {
        if (segment !== this.active.n) await fh.close()
      }
    }
  }

  rewind(): void {
    this.read = { ...this.committed }
  }

  /** InfluxDB stored everything up to `end`: drop finished segments, checkpoint now and then. */
  async confirm(end: Cursor): Promise<void> {
    this.committed = { ...end }
    for (const n of [...this.sizes.keys()]) {
      if (n < end.segment && n !== this.active.n) {
        this.sizes.delete(n)
        await rm(join(this.dir, name(n)), { force: true })
      }
    }
    const now = Date.now()
    if (now - this.checkpointAt >= 250 && !this.checkpointing) {
      this.checkpointAt = now
      this.checkpointing = writeFileAtomic(join(this.dir, 'checkpoint.json'), JSON.stringify(this.committed)).finally(() => {
        this.checkpointing = undefined
      })
    }
  }

  /** True when every durable line has been read. */
  get drained(): boolean {
    const size = this.sizes.get(this.read.segment) ?? 0
    return this.read.segment >= this.active.n && this.read.offset >= size
  }

  async close(): Promise<void> {
    while (this.writing) await this.writing
    await this.checkpointing
    await writeFileAtomic(join(this.dir, 'checkpoint.json'), JSON.stringify(this.committed))
    await this.active.fh.close()
  }
}
