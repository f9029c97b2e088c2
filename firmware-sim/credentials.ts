/**
 * The simulated devices' broker accounts, in the registry through the AccountStore like real devices
 * (only hashes there); the simulator keeps the plaintext passwords it was given in
 * `DATA_DIR/sim/credentials.json` (mode 0600). A device that exists without a saved password that
 * still works, or under another farm or kind, is removed and added again.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import type { AccountStore } from '../runtime/accounts.js'
import { writeFileAtomic } from '../runtime/files.js'
import type { Logger } from '../runtime/logger.js'
import type { DeviceRef } from './demo.js'

const CredentialsFile = z.object({ version: z.literal(1), devices: z.record(z.string(), z.string()) })

export const credentialsPath = (dataDir: string): string => join(dataDir, 'sim', 'credentials.json')

async function load(path: string, log: Logger): Promise<Record<string, string>> {
  const text = await readFile(path, 'utf8').catch(() => undefined)
  if (text === undefined) return {}
  try {
    return CredentialsFile.parse(JSON.parse(text)).devices
  } catch (err) {
    log.warn({ err, path }, 'simulator credentials file unreadable: devices will be registered again')
    return {}
  }
}

/** Makes sure every device has an account and a saved password; returns device -> password. */
export async function ensureDeviceAccounts(accounts: AccountStore, devices: readonly DeviceRef[], dataDir: string, log: Logger): Promise<Map<string, string>> {
  const path = credentialsPath(dataDir)
  const saved = await load(path, log)
  await accounts.reload(true)
  const toRegister: DeviceRef[] = []
  for (const d of devices) {
    const existing = accounts.getDevice(d.device)
    const password = saved[d.device]
    if (existing && password !== undefined && existing.farm === d.farm && existing.kind === d.kind) {
      // The saved password must still open the account (it may have been reset by hand).
      if ((await accounts.authenticate(d.device, password))?.role === 'device') continue
    }
    toRegister.push(d)
  }
  // One registry transaction for the whole fleet (5,000 devices: seconds, not minutes).
  const created = await accounts.putDevices(toRegister)
  for (const [i, d] of toRegister.entries()) saved[d.device] = (created[i] as { password: string }).password
  if (toRegister.length > 0) {
    await writeFileAtomic(path, `${JSON.stringify({ version: 1, devices: saved }, null, 2)}\n`, 0o600)
    log.info({ devices: devices.length, path }, 'simulated devices registered')
  }
  return new Map(devices.map((d) => [d.device, saved[d.device] as string]))
}
