import { z } from 'zod'
import { flag, optionalString, port, positiveInt } from '../runtime/config.js'

export const BrokerEnv = z.object({
  MQTT_PORT: port(1883),
  /** MQTT over WebSocket for browsers (the field console); 0 picks a free port. */
  MQTT_WS_PORT: port(8083),
  MQTT_TLS_PORT: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(0).max(65_535).optional()),
  MQTT_TLS_CERT: optionalString(),
  MQTT_TLS_KEY: optionalString(),
  BROKER_ID: optionalString(),
  BROKER_MAX_PAYLOAD_BYTES: positiveInt(64 * 1024),
  BROKER_MAX_CONNECTIONS: positiveInt(20_000),
  /** Longest keepalive a client may ask for, seconds (0 in CONNECT means none: refused). */
  BROKER_MAX_KEEPALIVE_S: positiveInt(600),
  /** A subscriber that does not drain its socket for this long is disconnected (aedes drainTimeout). */
  BROKER_DRAIN_TIMEOUT_MS: positiveInt(30_000),
  /** A socket that has not sent CONNECT after this long is closed. */
  BROKER_CONNECT_TIMEOUT_MS: positiveInt(10_000),
  /** Failed logins of one username from one address inside the window before that pair is throttled. */
  BROKER_AUTH_FAIL_LIMIT: positiveInt(10),
  /** Failed logins from one address (any usernames; an IPv6 /64) inside the window before it is throttled. */
  BROKER_AUTH_ADDRESS_FAIL_LIMIT: positiveInt(50),
  /** Not yet proven secrets from one address being checked against a slow (old scrypt) hash at once; more wait (CONNACK 3). */
  BROKER_AUTH_PENDING_PER_ADDRESS: positiveInt(16),
  BROKER_AUTH_FAIL_WINDOW_MS: positiveInt(60_000),
  /**
   * A QoS 1 message queued for a disconnected persistent session waits this long in memory
   * before it is written to disk (level persistence). The device's PUBACK waits for the disk or
   * the subscriber's PUBACK, so this is also how long a device waits while ingest is away.
   */
  BROKER_QUEUE_FLUSH_MS: positiveInt(200),
  /**
   * The same for a connected session: its PUBACK usually comes within milliseconds, and a
   * broker that wrote every late one to disk spent its CPU there when it was busiest.
   */
  BROKER_QUEUE_HOLD_MS: positiveInt(5_000),
  /** redis://host:port: persistence and message routing shared by several broker processes. */
  REDIS_URL: optionalString(),
  /**
   * Start even when a patched package (aedes, mqtt-packet, ...) has a version its patch was not
   * written for, with a warning: for testing an upgrade, never for production (patches/README.md).
   */
  BROKER_ALLOW_UNKNOWN_PATCH_VERSIONS: flag(false),
})
  .refine((e) => (e.MQTT_TLS_PORT === undefined) || (e.MQTT_TLS_CERT !== undefined && e.MQTT_TLS_KEY !== undefined), {
    message: 'MQTT_TLS_PORT needs MQTT_TLS_CERT and MQTT_TLS_KEY',
    path: ['MQTT_TLS_PORT'],
  })
export type BrokerConfig = z.output<typeof BrokerEnv>
