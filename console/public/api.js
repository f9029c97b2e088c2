/* global fetch, localStorage, AbortSignal */
/**
 * HTTP from the page: the console's own routes and the alerts API, with the technician token
 * (kept in this browser's localStorage, sent as a Bearer header, never in a URL).
 */

const TOKEN_KEY = 'suanyang.console.token'
const NAME_KEY = 'suanyang.console.name'

export const session = {
  get token() {
    return localStorage.getItem(TOKEN_KEY) ?? ''
  },
  get name() {
    return localStorage.getItem(NAME_KEY) ?? ''
  },
  /** @param {string} token @param {string} name */
  save(token, name) {
    localStorage.setItem(TOKEN_KEY, token)
    localStorage.setItem(NAME_KEY, name)
  },
  clear() {
    localStorage.removeItem(TOKEN_KEY)
  },
}

/** The i18n key that says why a request failed, by HTTP status. @param {number} status */
export function errorKey(status) {
  if (status === 400 || status === 422) return 'err.invalid'
  if (status === 401 || status === 403) return 'err.auth'
  if (status === 404) return 'err.notFound'
  if (status === 409) return 'err.conflict'
  return 'err.server'
}

/**
 * JSON over HTTP. Never throws: `{ ok, status, body, error, detail }`: error is an i18n key
 * (by status, or 'err.network' / 'err.timeout' when there was no answer), detail the server's
 * own reason (English, shown marked as such).
 * @param {string} method
 * @param {string} url
 * @param {{ body?: unknown, auth?: boolean, timeoutMs?: number }} [opts]
 */
export async function request(method, url, opts = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' }
  if (opts.auth) headers.authorization = `Bearer ${session.token}`
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  try {
    const res = await fetch(url, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 20_000),
      cache: 'no-store',
    })
    const body = await res.json().catch(() => ({}))
    if (res.ok) return { ok: true, status: res.status, body, error: undefined, detail: undefined }
    return { ok: false, status: res.status, body, error: errorKey(res.status), detail: typeof body?.error === 'string' ? body.error : undefined }
  } catch (err) {
    const timeout = err instanceof Error && err.name === 'TimeoutError'
    return { ok: false, status: 0, body: {}, error: timeout ? 'err.timeout' : 'err.network', detail: undefined }
  }
}
