/**
 * The console's HTTP routes besides its files. Public: the page's start-up facts
 * (`/console/config`: the names of the contract) and nothing that names a device or opens the
 * broker (issue 13). Signed in (runtime/auth.ts: a person's session, or the installation token),
 * each route shows only what the caller's roles reach (registry/access.ts): the live connection
 * (`/console/api/live`: the broker's WebSocket, a viewer account limited to the farms the person
 * may read and made for this session, those farms' devices), their last hour of readings, and
 * the trainer endpoint that publishes on `sim/control`, for a trainer of the device's farm,
 * which must be a training farm.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { z } from 'zod'
import { FAULT_CODES, KINDS, PUMP_STATES } from '../contracts/names.js'
import { FAULT_SCENARIOS, SCENARIO_KINDS, SimClear, SimInject, SimSpeed, type SimState } from '../contracts/sim-control.js'
import type { Credentials, DeviceAccount } from '../runtime/accounts.js'
import { HttpError, readBody, sendJson } from '../runtime/http.js'
import type { Principal } from '../registry/access.js'
import type { Authenticator } from '../runtime/auth.js'
import type { History } from './history.js'
import type { ControlResult } from './link.js'
import { CHART_FIELDS, SPACING_MS, WINDOW_MS } from './public/series.js'

/** The pump commands a technician sends from the page (the alerts API's set). */
export const PAGE_COMMANDS = ['stop', 'start', 'reset'] as const

export interface ApiDeps {
  auth: Authenticator
  /** ws:// URL for the browser, or only the port (the page adds the host it was loaded from). */
  ws: { url?: string; port?: number }
  /** The every-farm viewer of the installation token's page. */
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

function send(res: ServerResponse, status: number, body: unknown): void {
  res.setHeader('cache-control', 'no-store')
  sendJson(res, status, body)
}

/** Whether the simulator runs, and its speed, for everyone; the rest only signed in. */
const simPublic = (s: SimState | undefined) => (s ? { running: true, speed: s.speed } : { running: false, speed: null })
/** The training farms (their badge) too: from the registry, so they show with the simulator stopped. */
const simSummary = (s: SimState | undefined, training: readonly string[]) => ({ ...simPublic(s), training: [...training] })

export function consoleRoutes(deps: ApiDeps) {
  const { auth } = deps
  /** The caller, or the refusal sent (the runtime hides 5xx reasons; these are meant for the page). */
  async function caller(req: IncomingMessage, res: ServerResponse) {
    const c = await auth.caller(req)
    if (!c.ok) send(res, c.status, { error: c.reason })
    return c.ok ? c : undefined
  }
  const reads = (p: Principal) => new Set(auth.farmIds(p, 'read'))
  /** The farm a device belongs to: the registry's, else the simulator's list. */
  async function farmOf(device: string): Promise<string | undefined> {
    const known = (await deps.devices()).find((d) => d.device === device)
    return known?.farm ?? deps.sim()?.farms.find((f) => f.devices.some((d) => d.device === device))?.farm
  }

  return {
    config(_req: IncomingMessage, res: ServerResponse): void {
      send(res, 200, {
        alertsApi: deps.alertsApi,
        actions: true,
        contract: { kinds: KINDS, pumpStates: PUMP_STATES, faultCodes: FAULT_CODES, scenarios: FAULT_SCENARIOS, scenarioKinds: SCENARIO_KINDS, commands: PAGE_COMMANDS },
        chart: { fields: CHART_FIELDS, windowMs: WINDOW_MS, spacingMs: SPACING_MS },
      })
    },

    /** What the page needs for live data: a broker account for the farms the caller may read, and their devices. */
    async live(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const c = await caller(req, res)
      if (!c) return
      const all = await deps.devices()
      if (c.principal.kind === 'service' || !c.session) {
        const viewer = deps.viewer()
        return send(res, 200, {
          mqtt: { ...deps.ws, username: viewer.username, password: viewer.password, farms: '*' },
          devices: all.map(({ farm, kind, device }) => ({ farm, kind, device })),
          sim: simSummary(deps.sim(), deps.trainingFarms()),
        })
      }
      const account = await auth.liveAccount(c.principal, c.session)
      const farms = new Set(account.farms)
      send(res, 200, {
        mqtt: { ...deps.ws, username: account.username, password: account.password, farms: account.farms },
        devices: all.filter((d) => farms.has(d.farm)).map(({ farm, kind, device }) => ({ farm, kind, device })),
        sim: simSummary(deps.sim(), deps.trainingFarms().filter((f) => farms.has(f))),
      })
    },

    async history(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const c = await caller(req, res)
      if (!c) return
      const farms = c.principal.kind === 'service' ? undefined : reads(c.principal)
      send(res, 200, { devices: deps.history.snapshot().filter((d) => !farms || farms.has(d.farm)) })
    },

    async session(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const c = await caller(req, res)
      if (!c) return
      const p = c.principal
      // `manages`: whether the administration page has anything for them (a farm, or a cooperative they lead).
      const manages = p.kind === 'service' || auth.farmIds(p, 'manage').length > 0 || p.grants.some((g) => (g.role === 'lead' || g.role === 'admin') && g.farmId === null)
      // `maintain`: the farms whose work orders they may act on (the page hides the forms elsewhere).
      send(res, 200, { ok: true, kind: p.kind, id: p.id, name: p.name, train: auth.farmIds(p, 'train'), maintain: auth.farmIds(p, 'maintain'), manages })
    },

    /** Public: running, speed. Signed in: also the training farms the caller reads and the faults on their devices. */
    async simState(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const state = deps.sim()
      const c = await auth.caller(req)
      if (!c.ok) return send(res, 200, simPublic(state))
      const farms = c.principal.kind === 'service' ? undefined : reads(c.principal)
      const simFarms = (state?.farms ?? []).filter((f) => !farms || farms.has(f.farm))
      const devices = new Set(simFarms.flatMap((f) => f.devices.map((d) => d.device)))
      send(res, 200, {
        ...simSummary(state, deps.trainingFarms().filter((f) => !farms || farms.has(f))),
        faults: (state?.faults ?? []).filter((f) => !farms || devices.has(f.device)),
        farms: simFarms,
      })
    },

    async simControl(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const c = await caller(req, res)
      if (!c) return
      let body: unknown
      try {
        body = JSON.parse((await readBody(req, 8 * 1024)).toString('utf8'))
      } catch (err) {
        throw err instanceof HttpError ? err : new HttpError(400, 'body is not JSON')
      }
      const parsed = TrainerAction.safeParse(body)
      if (!parsed.success) throw new HttpError(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '))
      const state = deps.sim()
      const action = parsed.data
      // A fault goes to one device: its farm must be a training farm the caller trains on. The
      // speed is the whole simulation's: only for someone who may train on every farm it runs.
      if (action.action !== 'speed') {
        const farm = await farmOf(action.device)
        if (farm === undefined) return send(res, 404, { error: 'no such device' })
        auth.assert(c.principal, 'train', farm)
      }
      if (!state) return send(res, 409, { error: 'the simulator is not running' })
      if (action.action === 'speed') for (const f of state.farms) auth.assert(c.principal, 'train', f.farm)
      const result = await deps.control(action)
      if (!result.ok) return send(res, result.status, { error: result.reason })
      send(res, result.ack.ok ? 200 : 422, { ack: result.ack, sim: simSummary(deps.sim(), deps.trainingFarms()) })
    },
  }
}
