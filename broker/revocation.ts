/**
 * Revocation (issue 13): `suanyang device remove`, a new secret (`putDevices`, `setUser`) or any
 * other change of an account ends every live connection made with the account as it was. The
 * account store watches accounts.json and calls back on every change; each connected client's
 * identity is checked against the store (`isCurrent`: a map lookup per client, and changes are
 * rare). A client that authenticated just before a change and registers just after it is checked
 * when it registers.
 */
import type { Aedes, Client } from 'aedes'
import type { AccountStore, Identity } from '../runtime/accounts.js'
import type { Logger } from '../runtime/logger.js'
import type { AedesInternals } from './hooks.js'
import type { BrokerMetrics } from './metrics.js'

export interface RevocationDeps {
  accounts: AccountStore
  identities: WeakMap<Client, Identity>
  log: Logger
  metrics: BrokerMetrics
}

/** Starts watching; returns the function that stops it. */
export function closeRevokedSessions(broker: Aedes, deps: RevocationDeps): () => void {
  const { accounts, identities, log, metrics } = deps
  const internals = broker as unknown as AedesInternals

  const check = (client: Client) => {
    const who = identities.get(client)
    if (who === undefined || accounts.isCurrent(who)) return
    // Without an identity every later publish (its Last Will included) is refused as not
    // authenticated: nothing more is published on behalf of the old account.
    identities.delete(client)
    metrics.revoked.inc({ role: who.role })
    log.warn({ clientId: client.id, username: who.username, role: who.role }, 'account removed or changed: connection closed')
    client.close()
  }
  const sweep = () => {
    for (const id in internals.clients) {
      const client = internals.clients[id]
      if (client && !client.closed) check(client)
    }
  }

  const stopListening = accounts.onChange(sweep)
  broker.on('client', check)
  const stopWatching = accounts.watch((err) => log.warn({ err }, 'watching the accounts file failed'))
  return () => {
    stopWatching()
    stopListening()
    broker.removeListener('client', check)
  }
}
