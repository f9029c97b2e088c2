/**
 * Every file Grafana is provisioned with, as text: the dashboards' JSON and the farms'
 * gazetteer. Pure, so a test can compare it with what is committed.
 */
import type { Dashboard, Panel, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard'
import { alertsDashboard } from './alerts.js'
import { fleetDashboard } from './fleet.js'
import { gazetteer } from './gazetteer.js'
import { pumpDashboard } from './pump.js'
import type { Scope } from './scope.js'
import { waterSoilDashboard } from './water-soil.js'
import { workshopDashboard } from './workshop.js'

/** Folder of the dashboard JSON, relative to the repository root (provider.yaml reads it). */
export const DASHBOARD_DIR = 'dashboards/provisioning/dashboards'
export const GAZETTEER_FILE = 'dashboards/provisioning/gazetteer/suanyang-farms.json'

/** File name to builder; without a scope, the committed set for every farm. */
export const DASHBOARDS: Readonly<Record<string, (scope?: Scope) => Dashboard>> = {
  fleet: fleetDashboard,
  pump: pumpDashboard,
  'water-soil': waterSoilDashboard,
  workshop: workshopDashboard,
  alerts: alertsDashboard,
}

/** Stable panel ids (the SDK leaves them out; Grafana's links and repeats need them). */
export function numberPanels(dashboard: Dashboard): Dashboard {
  let next = 1
  const number = (panel: Panel | RowPanel): Panel | RowPanel => {
    const numbered = { ...panel, id: panel.id ?? next++ }
    if (numbered.type === 'row' && 'panels' in numbered) return { ...numbered, panels: numbered.panels.map(number) as Panel[] }
    return numbered
  }
  return { ...dashboard, panels: (dashboard.panels ?? []).map(number) }
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`

/** Path (from the repository root) to file content. */
export function renderAll(): Map<string, string> {
  const files = new Map<string, string>()
  for (const [name, build] of Object.entries(DASHBOARDS)) files.set(`${DASHBOARD_DIR}/${name}.json`, json(numberPanels(build())))
  files.set(GAZETTEER_FILE, json(gazetteer()))
  return files
}
