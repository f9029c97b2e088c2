/**
 * Scheduled notices (issue 6 "Schedules"): the 18:00 daily digest per farm (hours pumped,
 * litres, water-bank level, soil, faults) and maintenance reminders (panel cleaning every N
 * days, filter by pumped hours). Pure: they read tracks and state and return texts and keys;
 * keys make a re-run of the same day or week a no-op.
 */
import type { PumpTelemetry, SoilTelemetry, WaterbankTelemetry } from '../contracts/payloads.js'
import { bangkok, DAY_MS } from './clock.js'
import type { Farms, FarmSettings, Locale } from './contacts.js'
import type { EngineState, Tracks } from './state.js'
import { KIND_TEXT, RULE_TEXT } from './texts.js'
import { type DeviceTrack, latest } from './track.js'

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits })

const farmTracks = (tracks: Tracks, farm: string): DeviceTrack[] =>
  Object.values(tracks)
    .filter((t) => t.farm === farm)
    .sort((a, b) => a.kind.localeCompare(b.kind) || a.device.localeCompare(b.device))

/** The digest text of one farm for the local day of `nowMs`; undefined when the farm sent nothing today. */
export function digestText(farm: FarmSettings, farms: Farms, tracks: Tracks, state: EngineState, nowMs: number, locale: Locale): string | undefined {
  const day = bangkok(nowMs).day
  const th = locale === 'th'
  const lines: string[] = []
  for (const t of farmTracks(tracks, farm.id)) {
    if (bangkok(t.lastTelemetryMs).day !== day) continue
    const name = `${KIND_TEXT[locale][t.kind]} ${farms.deviceName(farm.id, t.device)}`
    if (t.kind === 'pump') {
      const d = t.days.find((x) => x.day === day)
      const hours = d?.runFirstS !== undefined && d.runLastS !== undefined ? (d.runLastS - d.runFirstS) / 3600 : 0
      const litres = d?.volumeL ?? latest<PumpTelemetry>(t)?.volume_l_today ?? 0
      lines.push(th ? `${name}: ทำงาน ${fmt(hours, 1)} ชม. สูบน้ำ ${fmt(litres)} ลิตร` : `${name}: ran ${fmt(hours, 1)} h, pumped ${fmt(litres)} L`)
    } else if (t.kind === 'waterbank') {
      const w = latest<WaterbankTelemetry>(t)
      if (w) lines.push(th ? `${name}: ระดับน้ำ ${fmt(w.level_pct)}%` : `${name}: level ${fmt(w.level_pct)}%`)
    } else {
      const s = latest<SoilTelemetry>(t)
      if (s) lines.push(th ? `${name}: ความชื้นดิน ${fmt(s.vwc_pct)}%` : `${name}: soil moisture ${fmt(s.vwc_pct)}%`)
    }
  }
  if (lines.length === 0) return undefined
  const today = [...Object.values(state.alerts), ...state.recent].filter(
    (a) => a.farm === farm.id && a.firedMs !== undefined && bangkok(a.firedMs).day === day,
  )
  const titles = [...new Set(today.map((a) => RULE_TEXT[locale][a.rule].title))]
  const faults = today.length === 0 ? (th ? 'ไม่มีเหตุขัดข้อง' : 'no faults') : `${today.length}: ${titles.join(', ')}`
  const head = th ? `สรุปวันนี้ ${farm.name} (${day})` : `Today at ${farm.name} (${day})`
  return [head, ...lines, th ? `แจ้งเตือนวันนี้: ${faults}` : `Alerts today: ${faults}`].join('\n')
}

export type MaintenanceType = 'panel_cleaning' | 'filter'

export interface Reminder {
  farm: string
  device: string
  type: MaintenanceType
  /** One reminder per maintenance cycle and calendar week: a daily run repeats nothing. */
  key: string
  text: Record<Locale, string>
}

const WEEK_MS = 7 * DAY_MS

/** Maintenance that is due on the farm's pumps, counted from the last record (or first sight). */
export function dueReminders(farm: FarmSettings, farms: Farms, tracks: Tracks, state: EngineState, nowMs: number): Reminder[] {
  const out: Reminder[] = []
  const week = Math.floor(nowMs / WEEK_MS)
  for (const t of farmTracks(tracks, farm.id)) {
    if (t.kind !== 'pump') continue
    const name = farms.deviceName(farm.id, t.device)
    const panels = state.maintenance[`${farm.id}/${t.device}/panel_cleaning`]
    const panelsSince = panels?.atMs ?? t.firstSeenMs
    const days = Math.floor((nowMs - panelsSince) / DAY_MS)
    if (days >= farm.maintenance.panelCleaningDays) {
      out.push({
        farm: farm.id,
        device: t.device,
        type: 'panel_cleaning',
        key: `reminder:${farm.id}/${t.device}/panel_cleaning/${panelsSince}/${week}`,
        text: {
          th: `ถึงเวลาล้างแผงโซลาร์ของปั๊ม ${name} (ไม่ได้ล้างมา ${days} วัน) ล้างด้วยน้ำสะอาดตอนเช้าหรือเย็น`,
          en: `Time to wash the solar panels of pump ${name} (${days} days since the last cleaning), early or late in the day.`,
        },
      })
    }
    const runS = latest<PumpTelemetry>(t)?.run_s_total
    const filter = state.maintenance[`${farm.id}/${t.device}/filter`]
    const filterRunS = filter?.runS ?? t.days[0]?.runFirstS
    if (runS !== undefined && filterRunS !== undefined) {
      const hours = (runS - filterRunS) / 3600
      if (hours >= farm.maintenance.filterRunHours) {
        out.push({
          farm: farm.id,
          device: t.device,
          type: 'filter',
          key: `reminder:${farm.id}/${t.device}/filter/${filter?.atMs ?? 0}/${week}`,
          text: {
            th: `ถึงเวลาล้างไส้กรองและตะแกรงหัวดูดของปั๊ม ${name} (สูบมาแล้ว ${fmt(hours)} ชม.)`,
            en: `Time to clean the filter and intake strainer of pump ${name} (${fmt(hours)} pumping hours).`,
          },
        })
      }
    }
  }
  return out
}
