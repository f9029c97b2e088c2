/**
 * The console notifier: with no LINE or SMS account (`npm start` on a fresh machine) every
 * message is printed, one readable line each, so the demo farm's alerts are visible.
 */
import type { OutboxItem, SendResult } from '../outbox.js'

export type Print = (line: string) => void

export class ConsoleNotifier {
  constructor(private readonly print: Print = (line) => process.stdout.write(`${line}\n`)) {}

  send(item: OutboxItem): Promise<SendResult> {
    this.print(`[alert ${item.purpose}] ${item.farm} -> ${item.contactId}: ${item.sms}`)
    return Promise.resolve({ outcome: 'sent' })
  }
}
