/**
 * Local time in Asia/Bangkok: UTC+07:00 all year, no daylight saving (notifications.md 4.3), so a
 * fixed offset is exact and needs no Intl on the hot path.
 */
export const BANGKOK_OFFSET_MS = 7 * 3_600_000
export const MINUTE_MS = 60_000
export const HOUR_MS = 3_600_000
export const DAY_MS = 86_400_000

export interface LocalTime {
  /** YYYY-MM-DD in Bangkok. */
  day: string
  hour: number
  minute: number
  /** Minutes since local midnight, 0..1439. */
  minuteOfDay: number
}

// The day's string is formatted once per day, not once per reading (this runs for every reading).
let memoDay = NaN
let memoDayText = ''

export function bangkok(ms: number): LocalTime {
  const local = ms + BANGKOK_OFFSET_MS
  const dayNumber = Math.floor(local / DAY_MS)
  if (dayNumber !== memoDay) {
    memoDay = dayNumber
    memoDayText = new Date(dayNumber * DAY_MS).toISOString().slice(0, 10)
  }
  const minuteOfDay = Math.floor((local - dayNumber * DAY_MS) / MINUTE_MS)
  return { day: memoDayText, hour: Math.floor(minuteOfDay / 60), minute: minuteOfDay % 60, minuteOfDay }
}

/** "10:42" in Bangkok. */
export function hhmm(ms: number): string {
  const t = bangkok(ms)
  return `${String(t.hour).padStart(2, '0')}:${String(t.minute).padStart(2, '0')}`
}

/** Epoch ms of local midnight (Bangkok) of the day containing `ms`. */
export function bangkokMidnight(ms: number): number {
  return Math.floor((ms + BANGKOK_OFFSET_MS) / DAY_MS) * DAY_MS - BANGKOK_OFFSET_MS
}

/** Parses "HH:MM" into minutes of the day; undefined when malformed. */
export function parseHhmm(text: string): number | undefined {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(text)
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined
}

/**
 * Whether a local minute falls in [start, end), a window that may wrap midnight (21:00-06:00).
 * Equal start and end means an empty window.
 */
export function inWindow(minuteOfDay: number, startMin: number, endMin: number): boolean {
  if (startMin === endMin) return false
  return startMin < endMin
    ? minuteOfDay >= startMin && minuteOfDay < endMin
    : minuteOfDay >= startMin || minuteOfDay < endMin
}

/** The first instant at or after `ms` outside the window [start, end) (local minutes). */
export function windowEnd(ms: number, startMin: number, endMin: number): number {
  const t = bangkok(ms)
  if (!inWindow(t.minuteOfDay, startMin, endMin)) return ms
  const midnight = bangkokMidnight(ms)
  let end = midnight + endMin * MINUTE_MS
  if (end <= ms) end += DAY_MS
  return end
}
