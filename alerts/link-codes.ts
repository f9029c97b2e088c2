/**
 * One-time codes that link a LINE user to a contact (issue 13). A code is 6 digits, lives
 * `LINE_LINK_CODE_TTL_MS` (10 min), works once, and a new code for a contact replaces the old.
 * Guessing is bounded twice: each LINE user may type 5 wrong codes in 15 minutes, then must wait
 * (even the right code is not looked at); and since a wrong guess is a wrong guess at every open
 * code, each open code counts the wrong guesses made while it is open and is burnt at 20, so many
 * LINE accounts together still have at most 20 in a million chances at any one code. Pure over
 * the engine's state: the webhook's save step makes every counted guess durable before it answers.
 */
import { randomInt } from 'node:crypto'
import type { EngineState } from './state.js'

export const LINK_CODE_LIMITS = {
  /** Wrong codes one LINE user may type per window before being told to wait. */
  perUserWrong: 5,
  perUserWindowMs: 15 * 60_000,
  /** Wrong guesses (from anyone) an open code survives. */
  perCodeWrong: 20,
} as const

export const DEFAULT_LINK_CODE_TTL_MS = 10 * 60_000

export const isLinkCodeText = (text: string): boolean => /^\d{6}$/.test(text)

/** A fresh 6-digit code for a contact, single use; the contact's earlier code stops working. */
export function issueLinkCode(state: EngineState, contactId: string, nowMs: number, ttlMs = DEFAULT_LINK_CODE_TTL_MS): { code: string; expiresMs: number } {
  for (const [code, open] of Object.entries(state.linkCodes)) if (open.contactId === contactId) delete state.linkCodes[code]
  let code: string
  do code = String(randomInt(0, 1_000_000)).padStart(6, '0')
  while (state.linkCodes[code])
  const expiresMs = nowMs + ttlMs
  state.linkCodes[code] = { contactId, expiresMs, wrong: 0 }
  return { code, expiresMs }
}

export type LinkAttempt =
  | { ok: true; contactId: string }
  | { ok: false; reason: 'wrong'; /** Contacts whose code this guess burnt. */ burnt: string[] }
  | { ok: false; reason: 'rate_limited'; retryInMs: number }

/** A LINE user typed a 6-digit code: link them, or count the wrong guess (state changes either way). */
export function tryLinkCode(state: EngineState, userId: string, typed: string, nowMs: number): LinkAttempt {
  const { perUserWrong, perUserWindowMs, perCodeWrong } = LINK_CODE_LIMITS
  const recent = (state.linkFailures[userId] ?? []).filter((atMs) => atMs > nowMs - perUserWindowMs)
  const oldest = recent[0]
  if (oldest !== undefined && recent.length >= perUserWrong) return { ok: false, reason: 'rate_limited', retryInMs: oldest + perUserWindowMs - nowMs }
  const code = state.linkCodes[typed]
  if (code && code.expiresMs >= nowMs) {
    delete state.linkCodes[typed]
    state.links[code.contactId] = userId
    return { ok: true, contactId: code.contactId }
  }
  recent.push(nowMs)
  state.linkFailures[userId] = recent
  const burnt: string[] = []
  for (const [c, open] of Object.entries(state.linkCodes)) {
    open.wrong = (open.wrong ?? 0) + 1
    if (open.expiresMs < nowMs) delete state.linkCodes[c]
    else if (open.wrong >= perCodeWrong) {
      delete state.linkCodes[c]
      burnt.push(open.contactId)
    }
  }
  return { ok: false, reason: 'wrong', burnt }
}

/** Expired codes, and per-user counts whose window has passed. */
export function pruneLinkState(state: EngineState, nowMs: number): void {
  for (const [code, c] of Object.entries(state.linkCodes)) if (c.expiresMs < nowMs) delete state.linkCodes[code]
  for (const [userId, times] of Object.entries(state.linkFailures)) {
    const recent = times.filter((atMs) => atMs > nowMs - LINK_CODE_LIMITS.perUserWindowMs)
    if (recent.length === 0) delete state.linkFailures[userId]
    else state.linkFailures[userId] = recent
  }
}
