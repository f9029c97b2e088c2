/** The ingest client id follows its login (broker/client-id.ts): the old `ingest-1` with the plain account, its own otherwise. */
import { describe, expect, it } from 'vitest'
import { ingestClientId } from './config.js'

describe('ingestClientId', () => {
  it.each([
    ['ingest-1', 'ingest', 'ingest-1'], // an installation from before: its session kept
    ['ingest_b', 'ingest', 'ingest_b'],
    ['ingest-1', 'ingest-1a2b3c4d', 'ingest-1a2b3c4d_1'],
    ['ingest-north', 'ingest-1a2b3c4d', 'ingest-1a2b3c4d_north'],
    ['ingest-1a2b3c4d_x', 'ingest-1a2b3c4d', 'ingest-1a2b3c4d_x'],
  ])('%s logged in as %s -> %s, a client id of that login', (configured, username, expected) => {
    const id = ingestClientId(configured, username)
    expect(id).toBe(expected)
    expect(id === username || id.startsWith(`${username}_`) || id.startsWith(`${username}-`)).toBe(true)
  })

  it('two instances with the same INGEST_CLIENT_ID get different sessions', () => {
    expect(ingestClientId('ingest-1', 'ingest-00000001')).not.toBe(ingestClientId('ingest-1', 'ingest-00000002'))
  })
})
