/**
 * The last check before a message leaves (issue 14): whatever queued it (routing, a digest, a
 * state file from an older version, a hand edit), the recipient is checked again against the
 * registry snapshot for the item's farm. Routing already obeys these rules; this is the second
 * lock, so a bug or a forged outbox item there still reaches no farmer of a training farm. Pure.
 */
import { type Farms, rolesOf } from './contacts.js'
import { lineIdOf } from './notify.js'
import type { OutboxItem } from './outbox.js'
import { CONSOLE_CONTACT, trainingRecipient } from './routing.js'
import type { EngineState } from './state.js'

export type GuardReason = 'not_serving_farm' | 'training_farm_not_trainer' | 'address_mismatch'
export type GuardDecision = { ok: true } | { ok: false; reason: GuardReason; detail: string }

const refuse = (reason: GuardReason, detail: string): GuardDecision => ({ ok: false, reason, detail })

export function checkRecipient(farms: Farms, state: EngineState, item: OutboxItem): GuardDecision {
  // The console is the log of this process, not a person: nobody is reached by it.
  if (item.channel === 'console') return { ok: true }
  const farm = farms.get(item.farm)
  const contact = farm.contacts.find((c) => c.id === item.contactId)
  if (!contact || contact.id === CONSOLE_CONTACT.id) return refuse('not_serving_farm', `${item.contactId} holds no role over farm ${item.farm}`)
  if (farm.training && !trainingRecipient(contact)) {
    return refuse('training_farm_not_trainer', `farm ${item.farm} is a training farm and ${contact.id} is ${rolesOf(contact).join('+')}, not only a trainer or trainee`)
  }
  // The address must be this person's own: an item naming a trainer but addressed to a farmer's phone is refused.
  const own = item.channel === 'line' ? lineIdOf(state, contact) : contact.phone
  if (own !== item.to) return refuse('address_mismatch', `${item.channel} address of ${item.key} is not ${contact.id}'s`)
  return { ok: true }
}
