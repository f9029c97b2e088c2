/**
 * `.env` read at start (issue 18): the variables of `.env.example`, kept in a file beside the
 * installation, as docker compose reads it. Node's own parser (util.parseEnv, the one behind
 * --env-file and process.loadEnvFile), merged into the env the command is given rather than
 * into process.env, so nothing else reads the environment. A variable set in the real
 * environment wins over the file. ENV_FILE names another file; ENV_FILE= (empty) reads none.
 */
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { parseEnv } from 'node:util'
import { ConfigError } from '../runtime/config.js'

export type EnvFileResult = { env: Record<string, string | undefined>; file?: string; variables: number }

export async function withEnvFile(env: Readonly<Record<string, string | undefined>>, cwd = process.cwd()): Promise<EnvFileResult> {
  if (env.ENV_FILE === '') return { env: { ...env }, variables: 0 }
  const file = resolve(cwd, env.ENV_FILE ?? '.env')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    // No .env is the usual case; a named one that is missing is the user's to fix.
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' && env.ENV_FILE === undefined) return { env: { ...env }, variables: 0 }
    if (code === 'ENOENT') throw new ConfigError(`ENV_FILE=${env.ENV_FILE}: ${file} does not exist; name your .env file, or set ENV_FILE= to read none`)
    throw err
  }
  const fromFile = parseEnv(text)
  return { env: { ...fromFile, ...env }, file, variables: Object.keys(fromFile).length }
}
