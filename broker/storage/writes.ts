/**
 * The writes of LevelPersistence other than the queue (retained messages, subscriptions, wills,
 * QoS 2 packets): gathered into one LevelDB batch at a time, in the order they were asked for.
 * A later write of a key can never land before an earlier one (two puts in flight at once may
 * finish in either order on LevelDB's thread pool), and a storm of reconnecting devices (each a
 * will and a retained status) costs a few batches instead of thousands of writes. Reads see
 * what is not written yet (`peek`).
 */
export interface BatchDb {
  batch(ops: Array<{ type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string }>): Promise<void>
}

interface Batch {
  ops: Map<string, Buffer | undefined>
  done: Promise<void>
  resolve(): void
  reject(err: unknown): void
}

function newBatch(): Batch {
  let resolve!: () => void
  let reject!: (err: unknown) => void
  const done = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { ops: new Map(), done, resolve, reject }
}

export class Writes {
  /** Being gathered: starts when the one being written is done. */
  private open: Batch | undefined
  private writing: Batch | undefined

  constructor(private readonly db: BatchDb) {}

  put(key: string, value: Buffer): Promise<void> {
    return this.add(key, value)
  }

  del(key: string): Promise<void> {
    return this.add(key, undefined)
  }

  /** The value a key will have once what is asked for is written: undefined when nothing is pending for it. */
  peek(key: string): { value: Buffer | undefined } | undefined {
    for (const b of [this.open, this.writing]) if (b?.ops.has(key)) return { value: b.ops.get(key) }
    return undefined
  }

  /** Keys with a pending write, starting with `prefix`. */
  *pendingKeys(prefix: string): Iterable<string> {
    const seen = new Set<string>()
    for (const b of [this.open, this.writing]) 
      for (const key of b?.ops.keys() ?? []) {
        if (!key.startsWith(prefix) || seen.has(key)) continue
        seen.add(key)
        yield key
      }
  }

  /** Resolves once everything asked for so far is written. */
  async idle(): Promise<void> {
    const last = this.open ?? this.writing
    if (last) await last.done.catch(() => undefined)
  }

  private add(key: string, value: Buffer | undefined): Promise<void> {
    if (!this.open) {
      this.open = newBatch()
      if (!this.writing) queueMicrotask(() => this.next())
    }
    this.open.ops.set(key, value)
    return this.open.done
  }

  private next(): void {
    const b = this.open
    if (!b || this.writing) return
    this.open = undefined
    this.writing = b
    const ops = [...b.ops].map(([key, value]) => (value === undefined ? { type: 'del' as const, key } : { type: 'put' as const, key, value }))
    this.db.batch(ops).then(
      () => this.finish(b, undefined),
      (err: unknown) => this.finish(b, err),
    )
  }

  private finish(b: Batch, err: unknown): void {
    this.writing = undefined
    if (err === undefined) b.resolve()
    else b.reject(err)
    this.next()
  }
}
