/**
 * The farms on the map, and the soil constants drawn as bands: data only, the one place to
 * edit when a farm joins. Ids match the `farm` tag (topic `farm/{farm}/...`). Coordinates are
 * approximate pilot sites around Ranong town (9.96 N, 98.63 E, reference/domain.md §2); put the
 * surveyed point of each farm here when it is known.
 */

export interface Farm {
  id: string
  name_en: string
  name_th: string
  lat: number
  lon: number
  /** A training farm: its alerts never reach a real farmer (DESIGN.md "Trainers"). */
  training?: boolean
}

/** Every farm is in southern Thailand: the dashboards show this zone. */
export const FARM_TIMEZONE = 'Asia/Bangkok'

/**
 * Calendar days of the farms (a pump's "litres today" resets at local midnight). Thailand has
 * no daylight saving, so a fixed offset does what tz('Asia/Bangkok') would, without needing a
 * time-zone database in the InfluxDB image.
 */
export const FARM_DAY = { every: '1d', offset: '-7h' } as const

export const FARMS: readonly Farm[] = [
  { id: 'ranong-01', name_en: 'Pilot farm 1, Mueang Ranong', name_th: 'แปลงนำร่อง 1 อ.เมืองระนอง', lat: 9.962, lon: 98.638 },
  { id: 'ranong-02', name_en: 'Pilot farm 2, Mueang Ranong', name_th: 'แปลงนำร่อง 2 อ.เมืองระนอง', lat: 9.991, lon: 98.652 },
  { id: 'ranong-03', name_en: 'Pilot farm 3, Mueang Ranong', name_th: 'แปลงนำร่อง 3 อ.เมืองระนอง', lat: 9.931, lon: 98.612 },
  { id: 'ranong-04', name_en: 'Pilot farm 4, Kra Buri', name_th: 'แปลงนำร่อง 4 อ.กระบุรี', lat: 10.312, lon: 98.773 },
  { id: 'ranong-05', name_en: 'Pilot farm 5, Kra Buri', name_th: 'แปลงนำร่อง 5 อ.กระบุรี', lat: 10.245, lon: 98.741 },
  { id: 'ranong-06', name_en: 'Pilot farm 6, La-un', name_th: 'แปลงนำร่อง 6 อ.ละอุ่น', lat: 10.082, lon: 98.771 },
  { id: 'ranong-07', name_en: 'Pilot farm 7, La-un', name_th: 'แปลงนำร่อง 7 อ.ละอุ่น', lat: 10.041, lon: 98.735 },
  { id: 'ranong-08', name_en: 'Pilot farm 8, Kapoe', name_th: 'แปลงนำร่อง 8 อ.กะเปอร์', lat: 9.581, lon: 98.592 },
  { id: 'ranong-09', name_en: 'Pilot farm 9, Suk Samran', name_th: 'แปลงนำร่อง 9 อ.สุขสำราญ', lat: 9.391, lon: 98.452 },
  { id: 'ranong-10', name_en: 'Pilot farm 10, Mueang Ranong', name_th: 'แปลงนำร่อง 10 อ.เมืองระนอง', lat: 9.872, lon: 98.601 },
  { id: 'training-01', name_en: 'Training farm', name_th: 'แปลงฝึกอบรม', lat: 9.955, lon: 98.626, training: true },
]

/**
 * Volumetric water content bands for the lateritic sandy loam of the Ranong uplands
 * (reference/domain.md §4.3: θFC 0.20, θWP 0.09).
 */
export interface SoilBands {
  field_capacity_pct: number
  wilting_point_pct: number
}

export const DEFAULT_SOIL: SoilBands = { field_capacity_pct: 20, wilting_point_pct: 9 }

/** Centre of the map: the middle of the farms. */
export function mapCentre(farms: readonly Farm[] = FARMS): { lat: number; lon: number } {
  const n = Math.max(1, farms.length)
  const lat = farms.reduce((s, f) => s + f.lat, 0) / n
  const lon = farms.reduce((s, f) => s + f.lon, 0) / n
  return { lat: Math.round(lat * 1000) / 1000, lon: Math.round(lon * 1000) / 1000 }
}
