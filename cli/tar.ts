/**
 * The backup's archive format: POSIX ustar, gzipped, so `tar -tzf backup.tar.gz` lists it on
 * any machine. Only what a DATA_DIR holds: directories and regular files, with their modes
 * (credentials stay 0600). Pure encode and decode; decode refuses a path that would leave the
 * directory it is restored into.
 */
const BLOCK = 512

export interface TarEntry {
  /** Relative, '/'-separated; a directory's ends without '/'. */
  path: string
  type: 'file' | 'dir'
  mode: number
  mtimeMs: number
  data?: Buffer
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`
}

/** ustar splits a long path into a prefix (155) and a name (100) at a '/'. */
function splitPath(path: string): { prefix: string; name: string } {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path }
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const prefix = path.slice(0, i)
    const name = path.slice(i + 1)
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { prefix, name }
  }
  throw new Error(`path too long for the backup archive: ${path}`)
}

function header(e: TarEntry): Buffer {
  const h = Buffer.alloc(BLOCK)
  const { prefix, name } = splitPath(e.type === 'dir' ? `${e.path}/` : e.path)
  h.write(name, 0, 100)
  h.write(octal(e.mode & 0o7777, 8), 100)
  h.write(octal(0, 8), 108)
  h.write(octal(0, 8), 116)
  h.write(octal(e.type === 'file' ? (e.data?.length ?? 0) : 0, 12), 124)
  h.write(octal(Math.floor(e.mtimeMs / 1000), 12), 136)
  h.write('        ', 148) // checksum counted as spaces
  h.write(e.type === 'file' ? '0' : '5', 156)
  h.write('ustar\u000000', 257)
  h.write(prefix, 345, 155)
  let sum = 0
  for (const b of h) sum += b
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148)
  return h
}

/** One entry's blocks: its header, then its data padded to a whole block. */
export function encodeEntry(e: TarEntry): Buffer {
  if (e.type !== 'file' || !e.data || e.data.length === 0) return header(e)
  const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK
  return Buffer.concat([header(e), e.data, Buffer.alloc(pad)])
}

/** Two empty blocks end an archive. */
export const TAR_END = Buffer.alloc(BLOCK * 2)

export function encodeTar(entries: readonly TarEntry[]): Buffer {
  return Buffer.concat([...entries.map(encodeEntry), TAR_END])
}

const text = (b: Buffer, start: number, len: number) => {
  const s = b.subarray(start, start + len)
  const end = s.indexOf(0)
  return s.subarray(0, end === -1 ? len : end).toString('utf8')
}

/** A path that stays inside the restore directory, or undefined. */
function safePath(path: string): string | undefined {
  const clean = path.replace(/\/+$/, '')
  if (clean === '' || clean.startsWith('/') || clean.includes('\\') || clean.split('/').some((p) => p === '..' || p === '' || p === '.')) return undefined
  return clean
}

export class TarError extends Error {
  override name = 'TarError'
}

/** Bytes as they arrive, taken in exact amounts without copying the whole stream each time. */
class ByteQueue {
  private chunks: Buffer[] = []
  length = 0

  push(chunk: Buffer): void {
    this.chunks.push(chunk)
    this.length += chunk.length
  }

  take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n)
    let at = 0
    while (at < n) {
      const head = this.chunks[0] as Buffer
      const used = Math.min(head.length, n - at)
      head.copy(out, at, 0, used)
      at += used
      if (used === head.length) this.chunks.shift()
      else this.chunks[0] = head.subarray(used)
    }
    this.length -= n
    return out
  }
}

/** One header block: the entry without its data, and its data's size; or why not. */
function parseHeader(h: Buffer, at: number): { entry: TarEntry; size: number } | { end: true } {
  if (h.every((b) => b === 0)) return { end: true }
  if (text(h, 257, 5) !== 'ustar') throw new TarError(`not a ustar archive (entry at byte ${at})`)
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] ?? 0)
  if (sum !== parseInt(text(h, 148, 8).trim(), 8)) throw new TarError(`bad checksum at byte ${at}: the file is damaged`)
  const prefix = text(h, 345, 155)
  const raw = prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100)
  const path = safePath(raw)
  if (path === undefined) throw new TarError(`refused path "${raw}": it would leave DATA_DIR`)
  const size = parseInt(text(h, 124, 12).trim() || '0', 8)
  const mode = parseInt(text(h, 100, 8).trim() || '600', 8)
  const mtimeMs = parseInt(text(h, 136, 12).trim() || '0', 8) * 1000
  const flag = text(h, 156, 1)
  if (flag === '0' || flag === '') return { entry: { path, type: 'file', mode, mtimeMs }, size }
  if (flag === '5') return { entry: { path, type: 'dir', mode, mtimeMs }, size: 0 }
  throw new TarError(`${path}: entry type "${flag}" is not in a suanyang backup`)
}

/**
 * The entries of an archive as its bytes arrive: memory holds one file at a time (a spool
 * segment, the registry), never the whole backup. Throws a TarError on a damaged archive.
 */
export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const queue = new ByteQueue()
  let offset = 0
  let pending: { entry: TarEntry; size: number } | undefined
  for await (const chunk of source) {
    queue.push(chunk)
    for (;;) {
      if (pending === undefined) {
        if (queue.length < BLOCK) break
        const header = parseHeader(queue.take(BLOCK), offset)
        offset += BLOCK
        if ('end' in header) return
        pending = header
      }
      const padded = Math.ceil(pending.size / BLOCK) * BLOCK
      if (queue.length < padded) break
      const data = queue.take(padded).subarray(0, pending.size)
      offset += padded
      yield pending.entry.type === 'file' ? { ...pending.entry, data } : pending.entry
      pending = undefined
    }
  }
  throw new TarError(pending ? `${pending.entry.path}: the archive ends early (cut short?)` : 'the archive ends early (cut short?)')
}
