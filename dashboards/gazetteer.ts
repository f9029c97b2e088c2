/**
 * The farms as a Grafana gazetteer (the worldmap format `[{ key, latitude, longitude, name }]`
 * that geomap's lookup mode reads, public/app/plugins/panel/geomap/gazetteer): the map finds
 * each farm by its `farm` tag. docker-compose mounts the file into Grafana's public folder.
 */
import { FARMS, type Farm } from './farms.js'

/** Where Grafana serves it (the volume in docker-compose.yml must match). */
export const GAZETTEER_PATH = 'public/gazetteer/suanyang-farms.json'

export interface GazetteerPoint {
  key: string
  latitude: number
  longitude: number
  name: string
}

export function gazetteer(farms: readonly Farm[] = FARMS): GazetteerPoint[] {
  return farms.map((f) => ({ key: f.id, latitude: f.lat, longitude: f.lon, name: `${f.name_en} · ${f.name_th}` }))
}
