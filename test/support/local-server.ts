import type { Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/**
 * Listening on 127.0.0.1 that test servers can switch off and on again (to play a dead endpoint):
 * `close` destroys open sockets too, so clients see the outage at once; `listen` reuses a port.
 */
export function localListener(server: Server): {
  listen(port: number): Promise<number>
  close(): Promise<void>
} {
  const sockets = new Set<Socket>()
  server.on('connection', (s) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  return {
    listen: (port) =>
      new Promise<number>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject)
          resolve((server.address() as AddressInfo).port)
        })
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        if (!server.listening) return resolve()
        server.close(() => resolve())
      }),
  }
}
