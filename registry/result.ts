/**
 * Decisions as return values: a change either happened (`changed` false when the input matched
 * what was stored already) or was refused with field-level issues, and then nothing was written.
 * Only I/O failures (the database is gone) throw.
 */
import type { z } from 'zod'
import { type FieldIssue, fieldIssues } from './messages.js'

export type Reason = 'invalid' | 'not_found' | 'exists' | 'in_use'
export interface Failure {
  ok: false
  reason: Reason
  issues: FieldIssue[]
}
export type Result<T> = { ok: true; value: T; changed: boolean } | Failure

export const done = <T>(value: T, changed = true): Result<T> => ({ ok: true, value, changed })
export const refuse = (reason: Reason, issues: FieldIssue[]): Failure => ({ ok: false, reason, issues })
export const invalid = (error: z.ZodError): Failure => refuse('invalid', fieldIssues(error))

/** Thrown inside a transaction to roll it back and hand the failure to the caller. */
export class Abort extends Error {
  constructor(readonly failure: Failure) {
    super(failure.reason)
  }
}
