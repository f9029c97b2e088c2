/** The listening part both API stubs share: a loopback server on port 0, closed with its hung requests. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export abstract class HttpStub {
  url = ''
  /** Requests the script told to hang: destroyed at close. */
  protected readonly hanging: ServerResponse[] = []
  private server: Server | undefined

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res))
    this.server = server
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    return this
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy()
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve())
      this.server?.closeAllConnections()
    })
  }
}

export async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of req as AsyncIterable<Buffer>) chunks.push(c)
  return Buffer.concat(chunks)
}
