import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { type TarEntry, TarError, encodeTar, readTar } from './tar.js'

/** The bytes in pieces of `size`, as a stream delivers them. */
async function* pieces(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < buf.length; at += size) yield buf.subarray(at, at + size)
}

const norm = (list: TarEntry[]) => list.map((e) => ({ path: e.path, type: e.type, mode: e.mode, mtimeMs: e.mtimeMs, data: e.data?.toString('hex') }))

async function read(buf: Buffer, size = 7): Promise<TarEntry[]> {
  const out: TarEntry[] = []
  for await (const e of readTar(pieces(buf, size))) out.push(e)
  return out
}

describe('the backup archive (ustar)', () => {
  const long = `spool/${'ingest-farm-'.repeat(9)}/seg-0000000001.lp` // over 100 bytes: prefix + name
  const entries: TarEntry[] = [
    { path: 'credentials', type: 'dir', mode: 0o700, mtimeMs: 1_700_000_000_000 },
    { path: 'credentials/api-token', type: 'file', mode: 0o600, mtimeMs: 1_700_000_000_000, data: Buffer.from('secret\n') },
    { path: long, type: 'file', mode: 0o644, mtimeMs: 1_700_000_000_000, data: randomBytes(5_000) },
    { path: 'empty.json', type: 'file', mode: 0o600, mtimeMs: 1_700_000_000_000, data: Buffer.alloc(0) },
  ]

  it('reads back what it wrote, byte for byte, in any chunking, with modes and long paths', async () => {
    const tar = encodeTar(entries)
    expect(tar.length % 512).toBe(0)
    for (const size of [1, 7, 512, 100_000]) {
      const back = await read(tar, size)
      expect(norm(back)).toEqual(norm(entries))
    }
  })

  it('refuses a path that leaves the directory, a damaged header, a cut archive', async () => {
    for (const path of ['../x', 'a/../../x', '/etc/passwd', 'a//b', './a']) {
      await expect(read(encodeTar([{ path, type: 'file', mode: 0o600, mtimeMs: 0, data: Buffer.from('x') }]))).rejects.toThrow(/refused path .*it would leave DATA_DIR/)
    }
    const damaged = encodeTar(entries)
    damaged[600] = (damaged[600] ?? 0) ^ 0xff // inside the second header
    await expect(read(damaged)).rejects.toThrow(new TarError('bad checksum at byte 512: the file is damaged'))
    const tar = encodeTar(entries)
    await expect(read(tar.subarray(0, 3_000))).rejects.toThrow(`${long}: the archive ends early (cut short?)`)
    await expect(read(tar.subarray(0, tar.length - 1024))).rejects.toThrow(new TarError('the archive ends early (cut short?)'))
  })
})
