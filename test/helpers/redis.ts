/** A real redis-server on a free loopback port, its files in `dir` (for two brokers sharing one). */
import { connect } from 'node:net'
import { requireBinary } from './binaries.js'
import { type Daemon, freePort, spawnDaemon } from './daemon.js'
import { StopWaiting, waitFor } from './wait-for.js'

const answersPing = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.write('PING\r\n'))
    s.once('data', (d) => {
      s.destroy()
      resolve(d.toString().startsWith('+PONG'))
    })
    s.once('error', () => resolve(false))
  })

export async function startRedis(dir: string): Promise<{ daemon: Daemon; port: number }> {
  const binary = requireBinary('redis-server', 'redis-server')
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const daemon = spawnDaemon(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { label: 'redis-server', tempDir: dir })
    try {
      await waitFor(
        async () => {
          if (daemon.hasExited) throw new StopWaiting(`redis-server exited:\n${daemon.outputTail()}`)
          return answersPing(port)
        },
        { message: 'redis-server answering PING' },
      )
      return { daemon, port }
    } catch (err) {
      await daemon.stop()
      if (attempt >= 3 || !/in use/i.test(daemon.outputTail())) throw err
    }
  }
}
