/**
 * The broker's accounts (runtime/accounts.ts AccountStore) kept in the registry: devices from
 * `devices` (those with a kind and a credentials hash), service, viewer and operator logins
 * from `service_accounts`. Each write is one transaction with its audit rows; a farm a device
 * names that the registry does not know yet is added with it (as `suanyang device add` always
 * allowed). The change mark is watch.ts's `changeMark`.
 */
import { type AccountActor, type AccountSnapshot, type AccountSource, AccountError, AccountStore, type DeviceWrite } from '../runtime/accounts.js'
import { type Registry, type Repositories, openRegistry } from './index.js'
import { done, type Failure, type Result, refuse } from './result.js'
import { issue, refusal } from './messages.js'
import { changeMark } from './watch.js'

function accountError(failure: Failure): AccountError {
  const code = failure.reason === 'not_found' ? 'NOT_FOUND' : failure.reason === 'exists' || failure.issues.some((i) => /exists/.test(i.en)) ? 'EXISTS' : 'INVALID'
  return new AccountError(code, failure.issues.map((i) => (i.field ? `${i.field}: ${i.en}` : i.en)).join('; '))
}

async function orThrow<T>(result: Promise<Result<T>>): Promise<void> {
  const r = await result
  if (!r.ok) throw accountError(r)
}

async function ensureFarms(r: Repositories, farms: Iterable<string>, actor: AccountActor): Promise<Result<null>> {
  for (const id of new Set(farms)) {
    if (await r.farms.get(id)) continue
    const added = await r.farms.add({ id }, actor)
    if (!added.ok) return added
  }
  return done(null)
}

export function registryAccounts(registry: Registry, now: () => number = Date.now): AccountSource {
  const changes = changeMark(registry, now)
  return {
    async mark() {
      return (await changes()).mark
    },

    async load(): Promise<AccountSnapshot> {
      const [devices, users] = await Promise.all([registry.devices.list(), registry.accounts.list()])
      return {
        devices: devices.flatMap((d) =>
          d.kind !== null && d.credentialsHash !== null ? [{ device: d.id, farm: d.farmId, kind: d.kind, hash: d.credentialsHash, createdAt: d.createdAt }] : [],
        ),
        users: users.map((u) => ({ username: u.username, role: u.role, farms: u.farms, hash: u.credentialsHash, createdAt: u.createdAt })),
      }
    },

    async putDevices(list: readonly DeviceWrite[], replace: boolean, actor: AccountActor) {
      await orThrow(
        registry.atomically(async (r) => {
          const farms = await ensureFarms(r, list.map((d) => d.farm), actor)
          if (!farms.ok) return farms
          for (const d of list) {
            const fields = { farmId: d.farm, kind: d.kind, credentialsHash: d.hash }
            const known = await r.devices.get(d.device)
            // A device known only by name (contacts.json) is provisioned by its first add.
            if (known && !replace && known.credentialsHash !== null) return refuse('exists', [issue('id', refusal('exists', { entity: 'device', id: d.device }))])
            const result = known ? await r.devices.update(d.device, fields, actor) : await r.devices.add({ id: d.device, ...fields }, actor)
            if (!result.ok) return result
          }
          return done(null)
        }),
      )
    },

    removeDevice: (device, actor) => orThrow(registry.devices.remove(device, actor)),

    async setUser(user, actor) {
      const fields = { role: user.role, farms: user.farms === '*' ? '*' : [...user.farms], credentialsHash: user.hash }
      await orThrow(
        registry.atomically(async (r) =>
          (await r.accounts.get(user.username)) ? r.accounts.update(user.username, fields, actor) : r.accounts.add({ username: user.username, ...fields }, actor),
        ),
      )
    },
  }
}

/** The process's AccountStore over its registry (opened once, in the composition root). */
export function openAccountStore(registry: Registry, opts: { dataDir: string; actor?: AccountActor }): Promise<AccountStore> {
  return AccountStore.open(registryAccounts(registry), opts)
}

/**
 * An AccountStore with a registry of its own, closed with it: for tools that run alone (the
 * standalone simulator, benchmarks, tests) rather than a service process.
 */
export async function openOwnAccountStore(opts: { dataDir: string; databaseUrl?: string | undefined; actor?: AccountActor }): Promise<AccountStore> {
  const registry = await openRegistry({ dataDir: opts.dataDir, databaseUrl: opts.databaseUrl })
  try {
    return await AccountStore.open({ ...registryAccounts(registry), close: () => registry.close() }, opts)
  } catch (err) {
    await registry.close()
    throw err
  }
}
