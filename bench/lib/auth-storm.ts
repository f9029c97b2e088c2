/**
 * A storm of failed MQTT logins from one source address, in its own process so that it does not
 * share the broker's event loop: `node --import tsx bench/lib/auth-storm.ts PORT COUNT [CONCURRENCY] [LOCAL_ADDRESS]`.
 * Prints one JSON line: attempts, CONNACK return codes seen, elapsed time.
 */
import { randomBytes } from 'node:crypto'
import { RawClient } from './raw-mqtt.js'

export interface StormResult {
  attempts: number
  returnCodes: Record<string, number>
  errors: number
  elapsedMs: number
}

export async function authStorm(opts: { port: number; count: number; concurrency: number; localAddress?: string; usernames: string[] }): Promise<StormResult> {
  const returnCodes: Record<string, number> = {}
  let started = 0
  let errors = 0
  const t0 = performance.now()
  const one = async (i: number) => {
    const username = opts.usernames[i % opts.usernames.length] ?? 'nobody'
    try {
      const { client, connack } = await RawClient.connect({
        port: opts.port,
        clientId: `${username}_${i}`,
        username,
        password: randomBytes(12).toString('base64url'),
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      })
      returnCodes[connack.returnCode] = (returnCodes[connack.returnCode] ?? 0) + 1
      client.kill()
    } catch {
      errors++
    }
  }
  const worker = async () => {
    while (started < opts.count) await one(started++)
  }
  await Promise.all(Array.from({ length: opts.concurrency }, worker))
  return { attempts: started, returnCodes, errors, elapsedMs: Math.round(performance.now() - t0) }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\0')) {
  const [port, count, concurrency, localAddress] = process.argv.slice(2)
  const result = await authStorm({
    port: Number(port),
    count: Number(count ?? 10_000),
    concurrency: Number(concurrency ?? 50),
    ...(localAddress ? { localAddress } : {}),
    // Known device names with wrong passwords, and names that do not exist.
    usernames: ['pump-1', 'pump-2', 'soil-1', 'admin', 'root', 'ingest'],
  })
  process.stdout.write(`${JSON.stringify(result)}\n`)
}
