/**
 * Run as a separate process by harness.test.ts: starts influxd, prints its pid and temp dir, and
 * waits to be killed, so the test can prove the watchdog leaves no orphan behind.
 */
import { startInflux } from './influx.js'

const influx = await startInflux()
console.log(JSON.stringify({ pid: influx.pid, dir: influx.dir }))
setInterval(() => {}, 60_000)
