import { CommonEnv, type Env, loadAll } from '../runtime/config.js'

export interface CommandIo {
  env: Env
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
}

/** DATA_DIR and friends for the commands that do not start services. */
export function commonConfig(env: Env) {
  const [common] = loadAll([CommonEnv] as const, env)
  return common
}

export function fail(io: CommandIo, message: string, code = 2): number {
  io.stderr.write(`${message}\n`)
  return code
}
