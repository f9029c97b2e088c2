import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Spool } from './spool.js'

const dirs: string[] = []
const tempDir = async () => {
  const d = await mkdtemp(join(tmpdir(), 'spool-'))
  dirs.push(d)
  return d
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => `m v=${from + i} ${from + i}`)

async function drain(spool: Spool, maxBytes = 1 << 20): Promise<string[]> {
  const out: string[] = []
  for (let b = await spool.next(maxBytes); b; b = await spool.next(maxBytes)) {
    out.push(...b.lines)
    await spool.confirm(b.end)
  }
  return out
}

describe('spool', () => {
  it('reports how long each group commit took, once per write + fdatasync', async () => {
    const commits: number[] = []
    const spool = await Spool.open(await tempDir(), { onCommit: (s) => commits.push(s) })
    await Promise.all([spool.append(lines(0, 10)), spool.append(lines(10, 10)), spool.append(lines(20, 10))])
    await spool.append([]) // nothing to write: no commit
    expect(commits.length).toBeGreaterThanOrEqual(1)
    expect(commits.length).toBeLessThanOrEqual(2) // the first append's write, then the rest grouped
    for (const s of commits) expect(s).toBeGreaterThan(0)
    await spool.close()
  })

  it('groups concurrent appends and returns lines in order', async () => {
    const spool = await Spool.open(await tempDir())
    await Promise.all([spool.append(lines(0, 3)), spool.append(lines(3, 2)), spool.append(lines(5, 5))])
    expect(await drain(spool)).toEqual(lines(0, 10))
    expect(spool.bytes).toBe(0)
    await spool.close()
  })

  it('replays what was not confirmed after a restart, and nothing that was', async () => {
    const dir = await tempDir()
    const a = await Spool.open(dir)
    await a.append(lines(0, 100))
    const first = await a.next(500) // part of it
    await a.confirm(first!.end)
    const confirmed = first!.lines.length
    await a.close()
    const b = await Spool.open(dir)
    expect(await drain(b)).toEqual(lines(confirmed, 100 - confirmed))
    await b.close()
  })

  it('rolls segments and deletes them once confirmed', async () => {
    const dir = await tempDir()
    const spool = await Spool.open(dir, { segmentBytes: 200 })
    for (let i = 0; i < 10; i++) await spool.append(lines(i * 10, 10))
    expect((await readdir(dir)).filter((f) => f.endsWith('.lp')).length).toBeGreaterThanOrEqual(5)
    expect(await drain(spool, 300)).toEqual(lines(0, 100))
    expect((await readdir(dir)).filter((f) => f.endsWith('.lp')).length).toBeLessThanOrEqual(2)
    await spool.close()
  })

  it('hands out whole lines only: a line longer than the batch size comes alone and whole, nothing after it is skipped', async () => {
    const spool = await Spool.open(await tempDir())
    const long = `m s="${'x'.repeat(900)}" 1`
    const input = [...lines(0, 3), long, ...lines(3, 3), long, long, ...lines(6, 2)]
    await spool.append(input)
    const batches: string[][] = []
    for (let b = await spool.next(100); b; b = await spool.next(100)) {
      batches.push(b.lines)
      expect(b.count).toBe(b.lines.length)
      await spool.confirm(b.end)
    }
    expect(batches.flat()).toEqual(input)
    for (const b of batches) if (b.includes(long)) expect(b).toEqual([long])
    await spool.close()
  })

  it('skips a torn tail left by a crash mid-write (it was never acknowledged)', async () => {
    const dir = await tempDir()
    const a = await Spool.open(dir)
    await a.append(lines(0, 3))
    await a.close()
    const seg = (await readdir(dir)).filter((f) => f.endsWith('.lp')).sort().at(-1)!
    await appendFile(join(dir, seg), 'm v=99 9') // no newline: torn
    const b = await Spool.open(dir)
    await b.append(lines(3, 2))
    expect(await drain(b)).toEqual(lines(0, 5))
    await b.close()
  })
})
