/** This machine as a phone or a device on the farm LAN reaches it: the first non-internal IPv4. */
import { networkInterfaces } from 'node:os'

export function lanAddress(): string {
  const v4 = Object.values(networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)
  return v4?.address ?? '127.0.0.1'
}
