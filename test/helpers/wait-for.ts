/** Poll a condition instead of sleeping: resolves with its first truthy value. */

export interface WaitForOptions {
  /** Give up after this long (default 10 s: generous for a loaded 2-core machine). */
  timeoutMs?: number
  /** Pause between polls (default 25 ms). */
  intervalMs?: number
  /** What is awaited, for the error message: "3 points in InfluxDB" (a function is read at timeout). */
  message?: string | (() => string)
}

/** Throw this from a condition to stop waiting at once (e.g. the process awaited has died). */
export class StopWaiting extends Error {
  override name = 'StopWaiting'
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err))

/**
 * Resolves with the first truthy value of `condition`. A throwing condition counts as "not yet"
 * (its last error goes into the timeout message so a failing test says why), except StopWaiting,
 * which rejects at once.
 */
/** What a truthy check leaves of T (`cond && value` conditions return `false | value`). */
export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>

export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<Truthy<T>> {
  const { timeoutMs = 10_000, intervalMs = 25, message = 'condition' } = options
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  let attempts = 0
  for (;;) {
    attempts++
    try {
      const value = await condition()
      if (value) return value as Truthy<T>
      lastError = undefined
    } catch (err) {
      if (err instanceof StopWaiting) throw err
      lastError = err
    }
    if (Date.now() >= deadline) break
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())))
  }
  const cause = lastError === undefined ? '' : ` (last error: ${describe(lastError)})`
  const what = typeof message === 'function' ? message() : message
  throw new Error(`timed out after ${timeoutMs} ms (${attempts} checks) waiting for ${what}${cause}`)
}
