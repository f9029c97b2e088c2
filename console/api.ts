/**
 * The console's HTTP routes besides its files. Public: the page's start-up facts
 * (`/console/config`: the names of the contract, whether actions are on) and nothing that names
 * a device or opens the broker (issue 13: device ids and the viewer account are not for anyone
 * who reaches the port). With the technician token (Bearer, like the alerts API): the live
 * connection (`/console/api/live`: where the broker's WebSocket is, the read-only viewer account,
 * the devices), the last hour of readings, and the trainer endpoint that publishes on `sim/control`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { z } from 'zod'
import { FAULT_CODES, KINDS, PUMP_STATES } from '../contracts/names.js'
import { FAULT_SCENARIOS, SCENARIO_KINDS, SimClear, SimInject, SimSpeed, type SimState } from '../contracts/sim-control.js'
import type { Credentials, DeviceAccount } from '../runtime/accounts.js'
import { HttpError, readBody, sendJson } from '../runtime/http.js'
import { safeEqual } from '../runtime/secrets.js'
import type { History } from './history.js'
import type { ControlResult } from './link.js'
import { CHART_FIELDS, SPACING_MS, WINDOW_MS } from './public/series.js'

/** The pump commands a technician sends from the page (the alerts API's set). */
export const PAGE_COMMANDS = ['stop', 'start', 'reset'] as const

export interface ApiDeps {
  token: string | undefined
  /** ws:// URL for the browser, or only the port (the page adds the host it was loaded from). */
  ws: { url?: string; port?: number }
  viewer(): Credentials
  devices(): Promise<DeviceAccount[]>
  alertsApi: string
  history: History
  sim(): SimState | undefined
  /** The registry's training farms (issue 14): the same flag the alert router reads. */
  trainingFarms(): readonly string[]
  control(action: z.output<typeof TrainerAction>): Promise<ControlResult>
}

/** What the page may ask of the simulator: the contract's messages, the id is the console's. */
export const TrainerAction = z.discriminatedUnion('action', [SimInject.omit({ id: true }), SimClear.omit({ id: true }), SimSpeed.omit({ id: true })])

export type Decision = { ok: true } | { ok: false; status: number; reason: string }

/** 503 when actions are off (no token set), 401 on a missing or wrong Bearer token. */
export function authorize(authorization: string | undefined, token: string | undefined): Decision {
  if (!token) return { ok: false, status: 503, reason: 'actions are off: set ALERTS_API_TOKEN' }
  const auth = authorization ?? ''
  if (!auth.startsWith('Bearer ') || !safeEqual(auth.slice(7), token)) return { ok: false, status: 401, reason: 'bad or missing bearer token' }
  return { ok: true }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.setHeader('cache-control', 'no-store')
  sendJson(res, status, body)
}

/** Sends the refusal and returns false, or returns true: the runtime hides 5xx reasons, these are meant for the page. */
function allowed(req: IncomingMessage, res: ServerResponse, token: string | undefined): boolean {
  const d = authorize(req.headers.authorization, token)
  if (!d.ok) send(res, d.status, { error: d.reason })
  return d.ok
}

/** Whether the simulator runs, and its speed, for everyone; the rest only with the token. */
const simPublic = (s: SimState | undefined) => (s ? { running: true, speed: s.speed } : { running: false, speed: null })
/** The training farms (their badge) too: from the registry, so they show with the simulator stopped. */
const simSummary = (s: SimState | undefined, training: readonly string[]) => ({ ...simPublic(s), training: [...training] })

export function consoleRoutes(deps: ApiDeps) {
  return {
    config(_req: IncomingMessage, res: ServerResponse): void {
      send(res, 200, {
        alertsApi: deps.alertsApi,
        actions: deps.token !== undefined,
        contract: { kinds: KINDS, pumpStates: PUMP_STATES, faultCodes: FAULT_CODES, scenarios: FAULT_SCENARIOS, scenarioKinds: SCENARIO_KINDS, commands: PAGE_COMMANDS },
        chart: { fields: CHART_FIELDS, windowMs: WINDOW_MS, spacingMs: SPACING_MS },
      })
    },

    /** What the page needs for live data, for a signed-in technician only. */
    async live(req: IncomingMessage, res: ServerResponse): Promise<void> {
      if (!allowed(req, res, deps.token)) return
      const viewer = deps.viewer()
      const devices = await deps.devices()
      send(res, 200, {
        mqtt: { ...deps.ws, username: viewer.username, password: viewer.password },
        devices: devices.map(({ farm, kind, device }) => ({ farm, kind, device })),
        sim: simSummary(deps.sim(), deps.trainingFarms()),
      })
    },

    history(req: IncomingMessage, res: ServerResponse): void {
      if (allowed(req, res, deps.token)) send(res, 200, { devices: deps.history.snapshot() })
    },

    session(req: IncomingMessage, res: ServerResponse): void {
      if (allowed(req, res, deps.token)) send(res, 200, { ok: true })
    },

    /** Public: running, speed. With the technician token also the training farms and the active faults. */
    simState(req: IncomingMessage, res: ServerResponse): void {
      const state = deps.sim()
      const trainer = authorize(req.headers.authorization, deps.token).ok
      send(res, 200, trainer ? { ...simSummary(state, deps.trainingFarms()), faults: state?.faults ?? [], farms: state?.farms ?? [] } : simPublic(state))
    },

    async simControl(req: IncomingMessage, res: ServerResponse): Promise<void> {
      if (!allowed(req, res, deps.token)) return
      let body: unknown
      try {
        body = JSON.parse((await readBody(req, 8 * 1024)).toString('utf8'))
      } catch (err) {
        throw err instanceof HttpError ? err : new HttpError(400, 'body is not JSON')
      }
      const parsed = TrainerAction.safeParse(body)
      if (!parsed.success) throw new HttpError(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '))
      if (!deps.sim()) return send(res, 409, { error: 'the simulator is not running' })
      const result = await deps.control(parsed.data)
      if (!result.ok) return send(res, result.status, { error: result.reason })
      send(res, result.ack.ok ? 200 : 422, { ack: result.ack, sim: simSummary(deps.sim(), deps.trainingFarms()) })
    },
  }
}
