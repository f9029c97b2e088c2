/**
 * The peer: Node-RED with node-red-contrib-influxdb, the usual mqtt in -> function -> influxdb
 * out flow (../shared/peers/nodered-flows.json). Installed once into a cache folder outside the
 * project's node_modules (`.bench-cache/nodered`), run as its own process with the editor and
 * HTTP nodes off.
 *
 * Changes to the peer flow, all needed to run it against our system, none to its shape:
 * - the broker and InfluxDB ports are ours, and it logs in as a service account (flows_cred.json,
 *   plain text because credentialSecret is false);
 * - the function node maps OUR contract's fields (motor_rpm, ctrl_temp_c, ...). The peer's names
 *   (rpm, temp_c, tank_pct) would be undefined for our payloads, and node-influx writes an
 *   undefined or null field as the bare word `undefined`/`null`: influxd refuses the whole line.
 *   `fault: null` becomes 'none', as ingest stores it;
 * - it also stores the reading's `ts` as a field: like the peer flow it lets InfluxDB stamp the
 *   point with server time, so `ts` is how the bench learns when the reading was published.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnDaemon, type Daemon } from '../../test/helpers/daemon.js'

/** Versions the figures were measured with; a newer install is still reported as what it is. */
export const NODE_RED_PACKAGES = ['node-red@4.1', 'node-red-contrib-influxdb@0.7']

export interface NodeRedOptions {
  cacheDir: string
  mqttPort: number
  mqttUser: string
  mqttPassword: string
  influxPort: number
  db: string
  /** Bound on start + broker connection. */
  timeoutMs?: number
}

export interface NodeRed {
  readonly daemon: Daemon
  readonly versions: Record<string, string>
  /** Node-RED's [error] and [warn] log lines, counted by message (numbers and ids blanked). */
  errors(): Record<string, number>
  /** Idempotent. */
  stop(): Promise<void>
}

const FUNCTION_BODY = [
  "const p = msg.topic.split('/');",
  'const d = msg.payload;',
  'msg.payload = [{pv_v:d.pv_v,pv_a:d.pv_a,pv_w:d.pv_w,motor_a:d.motor_a,motor_rpm:d.motor_rpm,flow_lpm:d.flow_lpm,',
  "pressure_bar:d.pressure_bar,ctrl_temp_c:d.ctrl_temp_c,volume_l_today:d.volume_l_today,run_s_total:d.run_s_total,state:d.state,fault:d.fault||'none',",
  'irradiance_wm2:d.irradiance_wm2,rssi_dbm:d.rssi_dbm,seq:d.seq,boot:d.boot,ts:d.ts},{farm:p[1],device:p[3]}];',
  'return msg;',
].join('\n')

/** Pure: the peer flow with our ports and field names. */
export function nodeRedFlow(mqttPort: number, influxPort: number, db: string): object[] {
  return [
    { id: 'b1', type: 'mqtt-broker', name: 'local', broker: '127.0.0.1', port: String(mqttPort), clientid: 'nodered-ingest', autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: 'db1', type: 'influxdb', hostname: '127.0.0.1', port: String(influxPort), protocol: 'http', database: db, name: 'influx', usetls: false, influxdbVersion: '1.x' },
    { id: 'tab1', type: 'tab', label: 'ingest' },
    { id: 'in1', type: 'mqtt in', z: 'tab1', name: '', topic: 'farm/+/pump/+/telemetry', qos: '1', datatype: 'json', broker: 'b1', nl: false, rap: false, inputs: 0, wires: [['fn1']] },
    { id: 'fn1', type: 'function', z: 'tab1', name: 'map', func: FUNCTION_BODY, outputs: 1, wires: [['out1']] },
    { id: 'out1', type: 'influxdb out', z: 'tab1', influxdb: 'db1', name: '', measurement: 'pump', precision: '', retentionPolicy: '', wires: [] },
  ]
}

// As ../shared/peers/nodered-settings.js, with logging at info: the bench waits for "Connected to broker".
const SETTINGS = `module.exports = { flowFile: 'flows.json', uiPort: 0, uiHost: '127.0.0.1', httpAdminRoot: false, httpNodeRoot: false, logging: { console: { level: 'info' } }, credentialSecret: false };\n`

const redJs = (cacheDir: string) => join(cacheDir, 'node_modules', 'node-red', 'red.js')
const influxNode = (cacheDir: string) => join(cacheDir, 'node_modules', 'node-red-contrib-influxdb', 'influxdb.js')

export function nodeRedInstalled(cacheDir: string): boolean {
  return existsSync(redJs(cacheDir)) && existsSync(influxNode(cacheDir))
}

/** `npm install --prefix cacheDir node-red node-red-contrib-influxdb`, once. */
export async function ensureNodeRed(cacheDir: string, log: (s: string) => void): Promise<void> {
  if (nodeRedInstalled(cacheDir)) return
  log(`installing ${NODE_RED_PACKAGES.join(' ')} into ${cacheDir} (once)`)
  await new Promise<void>((resolve, reject) => {
    const npm = spawn('npm', ['install', '--no-audit', '--no-fund', '--prefix', cacheDir, ...NODE_RED_PACKAGES], { stdio: ['ignore', 'inherit', 'inherit'] })
    npm.on('error', reject)
    npm.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`npm install exited ${code}`))))
  })
  if (!nodeRedInstalled(cacheDir)) throw new Error(`Node-RED not found in ${cacheDir} after npm install`)
}

async function readVersion(path: string): Promise<string> {
  return (JSON.parse(await readFile(path, 'utf8')) as { version?: string }).version ?? '?'
}

export async function startNodeRed(opts: NodeRedOptions): Promise<NodeRed> {
  const dir = await mkdtemp(join(tmpdir(), 'suanyang-bench-nodered-'))
  await writeFile(join(dir, 'settings.js'), SETTINGS)
  await writeFile(join(dir, 'flows.json'), JSON.stringify(nodeRedFlow(opts.mqttPort, opts.influxPort, opts.db), null, 1))
  await writeFile(join(dir, 'flows_cred.json'), JSON.stringify({ b1: { user: opts.mqttUser, password: opts.mqttPassword } }))
  let connected = false
  const errors = new Map<string, number>()
  const daemon = spawnDaemon(process.execPath, [redJs(opts.cacheDir), '-u', dir, '-s', join(dir, 'settings.js')], {
    label: 'node-red',
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: dir, NODE_ENV: 'production' },
    tempDir: dir,
    onStdoutLine: (line) => {
      if (line.includes('Connected to broker')) connected = true
      const m = /\[(error|warn)\] (.*)$/.exec(line)
      if (m) {
        const key = `${m[1]}: ${(m[2] ?? '').replace(/\d+/g, '#').slice(0, 160)}`
        errors.set(key, (errors.get(key) ?? 0) + 1)
      }
    },
  })
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000)
  while (!connected) {
    if (daemon.hasExited || Date.now() > deadline) {
      await daemon.stop()
      await rm(dir, { recursive: true, force: true })
      throw new Error(`Node-RED did not connect to the broker:\n${daemon.outputTail()}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  const versions = {
    'node-red': await readVersion(join(opts.cacheDir, 'node_modules', 'node-red', 'package.json')),
    'node-red-contrib-influxdb': await readVersion(join(opts.cacheDir, 'node_modules', 'node-red-contrib-influxdb', 'package.json')),
  }
  return {
    daemon,
    versions,
    errors: () => Object.fromEntries(errors),
    async stop() {
      await daemon.stop({ graceMs: 10_000 })
      await rm(dir, { recursive: true, force: true })
    },
  }
}
