/**
 * The console service's environment. ALERTS_API_TOKEN and MQTT_WS_PORT are the same variables
 * the alerts and broker services read (one value for the whole installation): the console checks
 * the technician token on its own trainer endpoint, and tells the page the broker's WebSocket port.
 */
import { z } from 'zod'
import { optionalString, port, positiveInt } from '../runtime/config.js'

export const ConsoleEnv = z.object({
  /** The technician token (Bearer) for actions: the alerts API and the trainer endpoint. Unset: read-only. */
  ALERTS_API_TOKEN: optionalString(),
  /** The broker's MQTT-over-WebSocket port; the page connects to it on the host it was loaded from. */
  MQTT_WS_PORT: port(8083),
  /** The WebSocket URL the browser uses instead (a reverse proxy with wss://, another host). */
  CONSOLE_MQTT_WS_URL: z.preprocess((v) => (v === '' ? undefined : v), z.url({ protocol: /^wss?$/ }).optional()),
  /** Where the page finds the alerts API: same origin by default (the one-process system). */
  CONSOLE_ALERTS_API_URL: z.string().min(1).default('/alerts/api/'),
  /** How long a trainer action waits for the simulator's answer on sim/control/ack. */
  CONSOLE_SIM_TIMEOUT_MS: positiveInt(5_000),
  /** How long an invite's sign-in link may wait to be opened (the same variable as runtime/auth.ts). */
  SIGN_IN_LINK_TTL_HOURS: positiveInt(24),
})
export type ConsoleConfig = z.output<typeof ConsoleEnv>
