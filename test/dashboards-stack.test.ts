/**
 * docker-compose.yml, the Dockerfile and Grafana's provisioning, checked without a Docker
 * engine (there is none on the build machines): the YAML parses (python3-yaml, a parser
 * nobody here wrote), images are pinned, every mount exists, every service has a health check,
 * every variable a service reads is set or documented in .env.example, and the provisioned
 * datasource is the one the dashboards name.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import { loadModules } from '../cli/app.js'
import { GAZETTEER_PATH } from '../dashboards/gazetteer.js'
import { DATASOURCE_UID } from '../dashboards/grafana-influx.js'
import { CommonEnv, loadAll } from '../runtime/config.js'
import { SERVICE_NAMES, type ServiceName } from '../runtime/service.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const read = (path: string) => readFileSync(join(root, path), 'utf8')

/** YAML to JSON with PyYAML (Debian python3-yaml); a missing parser fails loudly. */
function parseYaml(path: string): Record<string, unknown> {
  const script = 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'
  const result = spawnSync('python3', ['-c', script], { input: read(path), encoding: 'utf8' })
  if (result.error !== undefined || /No module named .?yaml/.test(result.stderr)) {
    throw new Error(`a YAML parser is needed: install it with \`apt-get install -y python3-yaml\` (${result.error?.message ?? result.stderr})`)
  }
  if (result.status !== 0) throw new Error(`${path} does not parse: ${result.stderr}`)
  return JSON.parse(result.stdout) as Record<string, unknown>
}

interface Service {
  image?: string
  build?: unknown
  command?: string[]
  profiles?: string[]
  environment?: Record<string, string | number | boolean | null>
  volumes?: string[]
  healthcheck?: { test: string[] }
  depends_on?: Record<string, { condition: string }>
  env_file?: unknown
}

const composeText = read('docker-compose.yml')
const compose = parseYaml('docker-compose.yml') as { services: Record<string, Service>; volumes: Record<string, unknown> }
const services = Object.entries(compose.services)
const appServices = services.filter(([, s]) => s.build !== undefined)
/** App containers that run services (`start ...`); the others run one command (`dashboards --watch`). */
const serviceContainers = appServices.filter(([, s]) => s.command?.[0] === 'start')

/** Names .env.example documents, set (`NAME=`) or commented out (`# NAME=`). */
function documented(): Map<string, string> {
  if (!existsSync(join(root, '.env.example'))) throw new Error('.env.example is missing (the lead generates it from the env schemas)')
  const names = new Map<string, string>()
  for (const line of read('.env.example').split('\n')) {
    const m = /^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim())
    if (m !== null) names.set(m[1] as string, line.trim().startsWith('#') ? '' : (m[2] as string))
  }
  return names
}

/** Compose interpolation (${X}, ${X:-d}, ${X-d}, ${X:?e}, ${X?e}, $X) against a .env. */
function interpolate(value: string, env: ReadonlyMap<string, string>): string {
  return value.replace(/\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)/g, (_whole, a?: string, op?: string, arg?: string, b?: string) => {
    const name = (a ?? b) as string
    const set = env.get(name)
    if (op?.includes('-') === true) return set === undefined || (op === ':-' && set === '') ? (arg ?? '') : set
    if (op?.includes('?') === true && (set === undefined || set === '')) throw new Error(`${name} must be set: ${arg ?? ''}`)
    return set ?? ''
  })
}

const composeVariables = () =>
  [...composeText.matchAll(/\$\{(\w+)(?:(:?[-?])([^}]*))?\}/g)].map((m) => ({ name: m[1] as string, op: m[2], arg: m[3] }))

describe('docker-compose.yml', () => {
  it('parses, with the stack the issue asks for', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['broker', 'dashboards', 'grafana', 'influxdb', 'ingest', 'sim'])
    expect(compose.services.dashboards?.command).toEqual(['dashboards', '--out', '/dashboards', '--watch'])
    expect(compose.services.ingest?.command).toEqual(['start', 'ingest', 'alerts'])
    expect(compose.services.broker?.command).toEqual(['start', 'broker'])
    expect(compose.services.sim?.profiles).toEqual(['demo'])
    expect(appServices.map(([n]) => n).filter((n) => !serviceContainers.some(([m]) => m === n))).toEqual(['dashboards'])
    for (const [name, s] of serviceContainers) {
      for (const n of s.command?.slice(1) ?? []) expect(SERVICE_NAMES, `${name}: ${n}`).toContain(n)
    }
  })

  it('pins every image to a full version, never latest or a bare major', () => {
    const images = services.filter(([, s]) => s.image !== undefined && s.build === undefined).map(([, s]) => s.image as string)
    const froms = [...read('Dockerfile').matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1] as string)
    expect(images.length + froms.length).toBeGreaterThan(2)
    for (const image of [...images, ...froms]) expect(image, image).toMatch(/^[\w./-]+:\d+\.\d+\.\d+(-[\w.-]+)?(@sha256:[0-9a-f]{64})?$/)
    expect(images.find((i) => i.startsWith('influxdb:'))).toMatch(/^influxdb:2\.7\.\d+$/)
    for (const from of froms) expect(from, 'Node 24 LTS, pinned').toMatch(/^node:24\.\d+\.\d+-/)
  })

  it('gives every service a health check and waits for health where it depends', () => {
    for (const [name, s] of services) {
      expect(s.healthcheck?.test.length, `${name} has no health check`).toBeGreaterThan(0)
      for (const [dep, how] of Object.entries(s.depends_on ?? {})) {
        expect(compose.services[dep], `${name} depends on ${dep}`).toBeDefined()
        expect(how.condition, `${name} -> ${dep}`).toBe('service_healthy')
      }
    }
    // The app's health check asks /healthz on the port the service listens on.
    for (const [name, s] of serviceContainers) expect(s.healthcheck?.test.join(' '), name).toContain(`:${String(s.environment?.HTTP_PORT)}/healthz`)
  })

  it('mounts named volumes it declares and files that exist', () => {
    for (const [name, s] of services) {
      for (const volume of s.volumes ?? []) {
        const [source = '', target = ''] = volume.split(':')
        if (source.startsWith('.')) expect(existsSync(join(root, source)), `${name}: ${source}`).toBe(true)
        else expect(compose.volumes, `${name}: volume ${source}`).toHaveProperty(source)
        expect(target, `${name}: ${volume}`).toMatch(/^\//)
      }
    }
    const grafanaMounts = compose.services.grafana?.volumes ?? []
    expect(grafanaMounts).toContain(`./dashboards/provisioning/gazetteer/suanyang-farms.json:/usr/share/grafana/${GAZETTEER_PATH}:ro`)
    // Broker credentials are shared through DATA_DIR: one volume on every app container.
    for (const [name, s] of appServices) expect(s.volumes, name).toContain(`app-data:${String(s.environment?.DATA_DIR)}`)
  })

  it('reads only variables that have a default or are documented in .env.example', () => {
    const docs = documented()
    for (const v of composeVariables()) {
      if (v.op?.includes('-') === true) continue
      expect(docs.has(v.name), `${v.name} is read by docker-compose.yml: document it in .env.example`).toBe(true)
    }
  })

  it("sets or documents every variable each app service's configuration reads, and the result validates", async () => {
    const docs = documented()
    // What a user has after `cp .env.example .env` and setting the secrets the stack demands.
    const dotenv = new Map(docs)
    for (const v of composeVariables()) if (v.op?.includes('?') === true && (dotenv.get(v.name) ?? '') === '') dotenv.set(v.name, 'set-in-dotenv')
    for (const [name, s] of appServices) {
      const names = (s.command?.[0] === 'start' ? s.command.slice(1) : []) as ServiceName[]
      const modules = await loadModules(names).catch((err: unknown) => {
        throw new Error(`${name} runs \`${String(s.command?.join(' '))}\`, but a service module does not load: ${String(err)}`)
      })
      const schemas: z.ZodType[] = [CommonEnv, ...modules.map((m) => m.env)]
      const environment = Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), dotenv)]))
      for (const schema of schemas) {
        const keys = 'shape' in schema ? Object.keys((schema as z.ZodObject).shape) : []
        for (const key of keys) {
          const why = `${name} reads ${key}: set it in docker-compose.yml or document it in .env.example`
          expect(key in environment || docs.has(key), why).toBe(true)
        }
      }
      // env_file: .env, then `environment:` wins.
      const env = { ...Object.fromEntries([...docs].filter(([, v]) => v !== '')), ...environment }
      expect(() => loadAll(schemas, env), name).not.toThrow()
    }
  })
})

describe('Grafana provisioning', () => {
  const grafana = compose.services.grafana as Service
  const grafanaEnv = grafana.environment ?? {}

  it('provisions the datasource every dashboard names, from the environment', () => {
    const yaml = parseYaml('dashboards/provisioning/datasources/influxdb.yaml') as { datasources: Array<Record<string, unknown>> }
    expect(yaml.datasources).toHaveLength(1)
    const ds = yaml.datasources[0] as {
      uid: string
      type: string
      url: string
      user: string
      jsonData: Record<string, string>
      secureJsonData: Record<string, string>
    }
    expect(ds).toMatchObject({ uid: DATASOURCE_UID, type: 'influxdb', jsonData: { version: 'InfluxQL' } })
    for (const value of [ds.url, ds.user, ds.jsonData.dbName, ds.secureJsonData.password]) {
      const m = /^\$\{(\w+)\}$/.exec(value ?? '')
      expect(m, `${String(value)} should come from the environment`).not.toBeNull()
      expect(grafanaEnv, `grafana needs ${m?.[1] ?? ''}`).toHaveProperty(m?.[1] as string)
    }
    expect(grafanaEnv.INFLUXQL_URL).toBe('http://influxdb:8086')
  })

  it('loads the dashboards from where compose mounts them', () => {
    const yaml = parseYaml('dashboards/provisioning/dashboards/provider.yaml') as { providers: Array<{ type: string; options: { path: string } }> }
    const path = yaml.providers[0]?.options.path
    expect(grafana.volumes).toContain(`./dashboards/provisioning/dashboards:${String(path)}:ro`)
    expect(grafana.volumes).toContain('./dashboards/provisioning/datasources:/etc/grafana/provisioning/datasources:ro')
  })

  it('maps the folders per cooperative from the tree the dashboards service writes, outside the other provider', () => {
    type Provider = { name: string; folder?: string; folderUid?: string; updateIntervalSeconds: number; options: { path: string; foldersFromFilesStructure: boolean } }
    const committed = (parseYaml('dashboards/provisioning/dashboards/provider.yaml') as { providers: Provider[] }).providers[0] as Provider
    const yaml = parseYaml('dashboards/provisioning/dashboards/registry.yaml') as { providers: Provider[] }
    expect(yaml.providers).toHaveLength(1)
    const p = yaml.providers[0] as Provider
    // Grafana refuses folder or folderUid together with foldersFromFilesStructure (file_reader.go).
    expect(p).toMatchObject({ options: { foldersFromFilesStructure: true } })
    expect(p.folder ?? '').toBe('')
    expect(p.folderUid ?? '').toBe('')
    expect(p.updateIntervalSeconds).toBeGreaterThan(0)
    expect(p.updateIntervalSeconds).toBeLessThanOrEqual(30)
    expect(p.name).not.toBe(committed.name)
    // The committed provider walks its path recursively: the tree must not be under it.
    expect(`${p.options.path}/`.startsWith(`${committed.options.path}/`)).toBe(false)
    const [volume] = (grafana.volumes ?? []).filter((v) => v.split(':')[1] === p.options.path)
    expect(volume, `grafana mounts ${p.options.path}`).toBeDefined()
    const [source] = (volume as string).split(':')
    const writer = compose.services.dashboards as Service
    const out = writer.command?.[(writer.command.indexOf('--out') ?? -1) + 1]
    expect(writer.volumes).toContain(`${String(source)}:${String(out)}`)
    expect(read('Dockerfile'), 'the volume takes the owner of the image dir').toMatch(new RegExp(`chown node:node .*${String(out)}`))
  })
})

describe('InfluxDB initialisation', () => {
  const influx = compose.services.influxdb as Service
  const script = 'docker/influxdb-init/10-influxql.sh'

  it('sets up org, bucket and token, and gives the init script what it reads', () => {
    const env = influx.environment ?? {}
    for (const key of ['MODE', 'USERNAME', 'PASSWORD', 'ORG', 'BUCKET', 'ADMIN_TOKEN']) expect(env).toHaveProperty(`DOCKER_INFLUXDB_INIT_${key}`)
    for (const m of read(script).matchAll(/\$\{(INFLUXQL_\w+):\?/g)) expect(env, `${script} reads ${m[1] ?? ''}`).toHaveProperty(m[1] as string)
    expect(influx.volumes).toContain('./docker/influxdb-init:/docker-entrypoint-initdb.d:ro')
    // Grafana logs in with the user the script creates, on the database it maps.
    const grafanaEnv = compose.services.grafana?.environment ?? {}
    expect(env.INFLUXQL_USER).toBe(grafanaEnv.INFLUXQL_USER)
    expect(env.INFLUXQL_PASSWORD).toBe(grafanaEnv.INFLUXQL_PASSWORD)
    expect(env.DOCKER_INFLUXDB_INIT_BUCKET).toBe(grafanaEnv.INFLUXQL_DB)
  })

  it('has an executable init script that bash accepts, creating the DBRP mapping and the v1 login', () => {
    accessSync(join(root, script), constants.X_OK)
    execFileSync('bash', ['-n', join(root, script)])
    expect(read(script)).toMatch(/influx v1 dbrp create .*--rp autogen/)
    expect(read(script)).toMatch(/influx v1 auth create .*--read-bucket/)
  })
})

describe('Dockerfile', () => {
  it('installs runtime dependencies only, tsx among them, and starts the CLI', () => {
    const dockerfile = read('Dockerfile')
    expect(dockerfile).toMatch(/npm ci --omit=dev/)
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "bin\/suanyang\.js"\]/)
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> }
    expect(Object.keys(pkg.dependencies), 'bin/suanyang.js runs TypeScript through tsx').toContain('tsx')
    expect(Object.keys(pkg.dependencies), '`suanyang dashboards` builds with the foundation SDK').toContain('@grafana/grafana-foundation-sdk')
  })

  it('keeps the service sources in the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
    for (const needed of ['bin', 'cli', 'contracts', 'runtime', 'broker', 'ingest', 'alerts', 'firmware-sim', 'package.json', 'package-lock.json']) {
      expect(ignored, needed).not.toContain(needed)
    }
  })
})
