/**
 * Which account owns an MQTT client id, so that a second connection with the same id (which takes
 * over the session, [MQTT-3.1.4-2]) can only come from the same account. A client id is the
 * username, or the username followed by `_` or `-` and a suffix (`ingest-1`). `_` never occurs in
 * an account id, so it is unambiguous; for `-` the longest account name wins: account `pump` may
 * not use `pump-1-x` when a device `pump-1` exists (it would reach pump-1's queued commands).
 */
import type { Decision } from './acl.js'

export function clientIdAllowed(clientId: string, username: string, isAccount: (name: string) => boolean): Decision {
  if (clientId === username || clientId.startsWith(`${username}_`)) return { ok: true }
  if (!clientId.startsWith(`${username}-`)) return { ok: false, reason: 'client id must be the username or start with it' }
  // Every longer prefix that ends at a '-' (and the whole id) could be another account's name.
  for (let at = clientId.indexOf('-', username.length + 1); ; at = clientId.indexOf('-', at + 1)) {
    const prefix = at === -1 ? clientId : clientId.slice(0, at)
    if (isAccount(prefix)) return { ok: false, reason: 'client id belongs to another account' }
    if (at === -1) return { ok: true }
  }
}
