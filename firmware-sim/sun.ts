/**
 * Sun position and clear-sky irradiance (reference/domain.md §2.1): Spencer declination, the
 * equation of time, hour angle from UTC and longitude, and Haurwitz clear-sky GHI (pvlib
 * `clearsky.haurwitz`). Pure functions of place and time.
 */

const DEG = Math.PI / 180
const DAY_MS = 86_400_000

export interface Place {
  lat_deg: number
  lon_deg: number
  /** Civil time zone, hours east of UTC (Thailand +7). */
  tz_h: number
}

/** Ranong (domain.md, site defaults). */
export const RANONG: Place = { lat_deg: 9.96, lon_deg: 98.63, tz_h: 7 }

/** Day of the year, 1..366, of a UTC instant. */
export function dayOfYear(tMs: number): number {
  const d = new Date(tMs)
  return Math.floor((tMs - Date.UTC(d.getUTCFullYear(), 0, 1)) / DAY_MS) + 1
}

/** Solar declination, radians (Spencer 1971). */
export function declination(n: number): number {
  const g = (2 * Math.PI * (n - 1)) / 365
  return (
    0.006918 -
    0.399912 * Math.cos(g) +
    0.070257 * Math.sin(g) -
    0.006758 * Math.cos(2 * g) +
    0.000907 * Math.sin(2 * g) -
    0.002697 * Math.cos(3 * g) +
    0.00148 * Math.sin(3 * g)
  )
}

/** Equation of time, minutes. */
export function equationOfTime(n: number): number {
  const b = (2 * Math.PI * (n - 81)) / 364
  return 9.87 * Math.sin(2 * b) - 7.53 * Math.cos(b) - 1.5 * Math.sin(b)
}

/** Cosine of the solar zenith angle at a place and UTC instant (negative below the horizon). */
export function cosZenith(place: Place, tMs: number): number {
  const n = dayOfYear(tMs)
  const utcH = (((tMs % DAY_MS) + DAY_MS) % DAY_MS) / 3_600_000
  const solarH = utcH + place.lon_deg / 15 + equationOfTime(n) / 60
  const omega = 15 * (solarH - 12) * DEG
  const phi = place.lat_deg * DEG
  const delta = declination(n)
  return Math.sin(phi) * Math.sin(delta) + Math.cos(phi) * Math.cos(delta) * Math.cos(omega)
}

/** Clear-sky global horizontal irradiance, W/m2 (Haurwitz 1945). */
export function clearSkyGhi(cosZ: number): number {
  if (cosZ <= 0.01) return 0
  return 1098 * cosZ * Math.exp(-0.059 / cosZ)
}

/** Clear-sky irradiance integrated over the local calendar day that contains `tMs`, kWh/m2. */
export function clearSkyDailyKwh(place: Place, tMs: number, stepS = 60): number {
  const start = localMidnight(place, tMs)
  let wh = 0
  for (let t = start; t < start + DAY_MS; t += stepS * 1000) {
    wh += (clearSkyGhi(cosZenith(place, t + stepS * 500)) * stepS) / 3600
  }
  return wh / 1000
}

/** Start of the local calendar day containing `tMs`, epoch ms. */
export function localMidnight(place: Place, tMs: number): number {
  const offsetMs = place.tz_h * 3_600_000
  return Math.floor((tMs + offsetMs) / DAY_MS) * DAY_MS - offsetMs
}

/** Local clock hour as a fraction, 0..24. */
export function localHour(place: Place, tMs: number): number {
  return (tMs - localMidnight(place, tMs)) / 3_600_000
}

/** Days since 1970-01-01 in local time: a key for per-day state. */
export function localDayIndex(place: Place, tMs: number): number {
  return Math.floor((tMs + place.tz_h * 3_600_000) / DAY_MS)
}
