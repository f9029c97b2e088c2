/**
 * Durable state under DATA_DIR/alerts: `state.json` (open alerts with their pending and
 * escalation timers, the outbox, LINE links, webhook ids, learned references) written atomically
 * after every change and before any message leaves; `tracks.json` (device windows and daily
 * aggregates) and `recent.json` (resolved alerts, for the API and the digest) on a timer: they
 * are rebuilt or only informative.
 * Saves coalesce: a caller's `save()` resolves once a write that started after the call is on disk.
 */
import { appendFile, mkdir, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../runtime/files.js'
import { emptyState, type EngineState, type Tracks } from './state.js'
import type { AlertRecord } from './types.js'

class CoalescedWriter {
  private writing: Promise<void> | undefined
  private next: Promise<void> | undefined

  constructor(
    private readonly path: string,
    private readonly snapshot: () => string,
  ) {}

  save(): Promise<void> {
    this.next ??= (async () => {
      await this.writing?.catch(() => undefined)
      this.next = undefined
      // Serialised now, after the previous write: every change made before save() was called is in.
      this.writing = writeFileAtomic(this.path, this.snapshot())
      await this.writing
    })()
    return this.next
  }
}

export interface Loaded {
  state: EngineState
  tracks: Tracks
  /** Set when a file could not be read and was moved aside. */
  problems: string[]
}

export class StateStore {
  readonly dir: string
  private stateWriter: CoalescedWriter | undefined
  private tracksWriter: CoalescedWriter | undefined
  private recentWriter: CoalescedWriter | undefined

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'alerts')
  }

  async load(): Promise<Loaded> {
    const problems: string[] = []
    const read = async <T>(name: string, fallback: () => T): Promise<T> => {
      const path = join(this.dir, name)
      let text: string
      try {
        text = await readFile(path, 'utf8')
      } catch {
        return fallback()
      }
      try {
        return JSON.parse(text) as T
      } catch (err) {
        // Never silently start over on top of a damaged file: keep it for a person to look at.
        const aside = `${path}.damaged-${Date.now()}`
        await rename(path, aside)
        problems.push(`${name} unreadable (${(err as Error).message}), moved to ${aside}`)
        return fallback()
      }
    }
    const state = { ...emptyState(), ...(await read<Partial<EngineState>>('state.json', emptyState)) }
    state.recent = await read<EngineState['recent']>('recent.json', () => [])
    const tracks = await read<Tracks>('tracks.json', () => ({}))
    return { state, tracks, problems }
  }

  /** Binds the live objects; from now on `saveState()` writes their current content. */
  attach(state: EngineState, tracks: Tracks): void {
    // `recent` is the bulk of the state and never decides a message: it goes with the tracks.
    this.stateWriter = new CoalescedWriter(join(this.dir, 'state.json'), () => JSON.stringify({ ...state, recent: undefined }))
    this.recentWriter = new CoalescedWriter(join(this.dir, 'recent.json'), () => JSON.stringify(state.recent))
    this.tracksWriter = new CoalescedWriter(join(this.dir, 'tracks.json'), () => JSON.stringify(tracks))
  }

  saveState(): Promise<void> {
    return this.stateWriter?.save() ?? Promise.resolve()
  }

  /** Appends resolved alerts, snapshot included, to resolved.jsonl (history for people; not fsynced). */
  async appendResolved(alerts: readonly AlertRecord[]): Promise<void> {
    if (alerts.length === 0) return
    await mkdir(this.dir, { recursive: true })
    await appendFile(join(this.dir, 'resolved.jsonl'), alerts.map((a) => `${JSON.stringify(a)}\n`).join(''))
  }

  /** Device tracks and resolved alerts: on a timer and at close. */
  async saveTracks(): Promise<void> {
    await Promise.all([this.tracksWriter?.save(), this.recentWriter?.save()])
  }
}
