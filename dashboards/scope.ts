/**
 * Which farms a set of dashboards is for. The committed set (EVERY_FARM) offers every farm
 * InfluxDB has seen; a cooperative's set (tenancy.ts) offers only its own farms, has its own
 * uids, and links only to its own dashboards. Pure data: the builders read it.
 */
import { UIDS } from './uids.js'

export type DashboardKey = keyof typeof UIDS

/** Tag on every dashboard of the committed set: its links list them all. */
export const TAG = 'suanyang'

/** A farm the picker offers: its `farm` tag value and what the picker shows. */
export interface FarmChoice {
  id: string
  text: string
}

export interface Scope {
  uids: Readonly<Record<DashboardKey, string>>
  /** On every dashboard of the set. */
  tags: readonly string[]
  /** The dashboards the links dropdown lists: those with these tags. */
  linkTags: readonly string[]
  /** Appended to every dashboard title ('' for none). */
  titleSuffix: string
  /** The farm picker's choices; undefined: every farm InfluxDB has seen (SHOW TAG VALUES). */
  farms: readonly FarmChoice[] | undefined
  /** Centre of the fleet map; undefined: the middle of dashboards/farms.ts FARMS. */
  centre: { lat: number; lon: number } | undefined
}

export const EVERY_FARM: Scope = { uids: UIDS, tags: [TAG], linkTags: [TAG], titleSuffix: '', farms: undefined, centre: undefined }
