/**
 * suanyang-host-device (the firmware core on the host, firmware/test/host) as a child process
 * that a test can SIGKILL and start again on the same flash file: its JSON lines parsed as they
 * come, so a test knows every reading the device stored and when it was really taken.
 */
import { join } from 'node:path'
import { type Daemon, spawnDaemon } from './daemon.js'
import type { FirmwareBuild } from './firmware-build.js'

export interface HostDeviceOptions {
  url: string
  farm: string
  kind: 'pump' | 'soil' | 'waterbank'
  id: string
  password: string
  /** The flash file; the NVS is beside it. Keep it to restart the same device. */
  data: string
  /** Device ms per real ms. */
  speed?: number
  /** The true clock: epochAtOriginMs at real time originRealMs, running at `speed`. */
  epochAtOriginMs?: number
  originRealMs?: number
  /** Device ms after boot when SNTP answers. */
  syncAfterMs?: number
  intervalS?: number
  idleIntervalS?: number
  sunWm2?: number
  faultsFile?: string
  /** One sensor reports the true time of its reading (see firmware/test/host/fake_plant.h). */
  timeProbe?: boolean
  /** A provisioning document file (suanyang device add --firmware json): url, farm, kind, id and password come from it. */
  provision?: string
  /** sim7600: MQTT through the core's AT driver and the SIM7600 stand-in (firmware/test/host/fake_sim7600.h). */
  link?: 'mosquitto' | 'sim7600'
  /** With link sim7600: while this file exists the fake modem's link is down. */
  modemOutageFile?: string
}

/** One line the device printed (see firmware/test/host/main.cpp). */
export interface HostLine {
  ev: string
  [key: string]: unknown
}

export interface StoredLine extends HostLine {
  ch: 'telemetry' | 'event'
  boot: number
  seq: number
  ts: number
  /** The true time at the monotonic time the core says it took the reading. */
  true_ms: number
  held: boolean
}

export interface HostDevice {
  readonly daemon: Daemon
  readonly lines: HostLine[]
  stored(ch?: 'telemetry' | 'event'): StoredLine[]
  stop(signal?: NodeJS.Signals): Promise<void>
}

export function startHostDevice(build: FirmwareBuild, o: HostDeviceOptions, label = o.id): HostDevice {
  const identity = o.provision ? ['--provision', o.provision] : ['--url', o.url, '--farm', o.farm, '--kind', o.kind, '--id', o.id, '--password', o.password]
  const args = [...identity, '--data', o.data, '--flash-kb', '256']
  const opt = (name: string, v: number | string | undefined) => {
    if (v !== undefined) args.push(name, String(v))
  }
  opt('--speed', o.speed)
  opt('--epoch-at-origin', o.epochAtOriginMs)
  opt('--origin-real-ms', o.originRealMs)
  opt('--sync-after-ms', o.syncAfterMs)
  opt('--interval', o.intervalS)
  opt('--idle-interval', o.idleIntervalS)
  opt('--sun', o.sunWm2)
  opt('--faults-file', o.faultsFile)
  opt('--link', o.link)
  opt('--modem-outage-file', o.modemOutageFile)
  if (o.timeProbe) args.push('--time-probe')
  const lines: HostLine[] = []
  const daemon = spawnDaemon(build.device, args, {
    label,
    cwd: join(build.dir),
    onStdoutLine: (line) => {
      try {
        lines.push(JSON.parse(line) as HostLine)
      } catch {
        // not one of ours
      }
    },
  })
  return {
    daemon,
    lines,
    stored: (ch) => lines.filter((l): l is StoredLine => l.ev === 'stored' && (ch === undefined || l.ch === ch)),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      await daemon.stop({ signal, graceMs: 5_000 })
    },
  }
}
