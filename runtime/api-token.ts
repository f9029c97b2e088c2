/**
 * The technician token of the one-process default (`npm start` on a trainer's laptop, issue 8):
 * when ALERTS_API_TOKEN is not set, one is generated on the first start into
 * DATA_DIR/credentials/api-token (mode 0600) and reused after, so the alerts API and the console
 * share it and the technician on a phone can act. Called by the composition root (cli) before the
 * configuration is validated; an operator-set ALERTS_API_TOKEN always wins.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Env } from './config.js'
import { withLock, writeFileAtomic } from './files.js'
import { newSecret } from './secrets.js'

export const TOKEN_VARIABLE = 'ALERTS_API_TOKEN'

export const tokenPath = (dataDir: string) => join(dataDir, 'credentials', 'api-token')

/** The generated token kept in DATA_DIR, if there is one. */
export async function readSavedToken(dataDir: string): Promise<string | undefined> {
  const text = await readFile(tokenPath(dataDir), 'utf8').catch(() => undefined)
  const token = text?.trim()
  return token ? token : undefined
}

/**
 * `env` with ALERTS_API_TOKEN set: as given, or the saved one, or a new one (saved). `dataDir`
 * is DATA_DIR as the configuration will resolve it.
 */
export async function withApiToken(env: Env, dataDir: string): Promise<{ env: Env; token: string; generated: boolean }> {
  const given = env[TOKEN_VARIABLE]
  if (given) return { env, token: given, generated: false }
  const path = tokenPath(dataDir)
  const token = await withLock(path, async () => {
    const saved = await readSavedToken(dataDir)
    if (saved) return saved
    const fresh = newSecret(24)
    await writeFileAtomic(path, `${fresh}\n`)
    return fresh
  })
  return { env: { ...env, [TOKEN_VARIABLE]: token }, token, generated: true }
}
