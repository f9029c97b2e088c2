/**
 * The audit log: every change with who made it, how (cli, api, console, line, system), what and
 * when, written in the same transaction as the change. Its ids only grow, so `latestId()` is
 * also the registry's change counter: a service that remembers it knows when to read again.
 */
import { z } from 'zod'
import type { Queryable, Row } from './db.js'
import { json, num, str } from './rows.js'
import { AUDIT_HOW, type AuditHow } from './schemas.js'

export interface Actor {
  /** A person's id, or the login name of whoever ran the command. */
  who: string
  how: AuditHow
}
const ActorSchema = z.object({ who: z.string().min(1).max(128), how: z.enum(AUDIT_HOW) })

export interface AuditEntry {
  id: number
  at: string
  who: string
  how: AuditHow
  action: string
  target: string
  detail: Record<string, unknown>
}

/** A caller bug, not bad user input: an action without a valid actor must not happen at all. */
export function checkActor(actor: Actor): void {
  if (!ActorSchema.safeParse(actor).success) throw new TypeError(`invalid audit actor ${JSON.stringify(actor)}`)
}

export async function writeAudit(q: Queryable, atMs: number, actor: Actor, action: string, target: string, detail: Record<string, unknown>): Promise<void> {
  await q.run('INSERT INTO audit_log (at, who, how, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)', [
    new Date(atMs).toISOString(),
    actor.who,
    actor.how,
    action,
    target,
    JSON.stringify(detail),
  ])
}

const fromRow = (r: Row): AuditEntry => ({
  id: num(r.id) ?? 0,
  at: str(r.at),
  who: str(r.who),
  how: str(r.how) as AuditHow,
  action: str(r.action),
  target: str(r.target),
  detail: json(r.detail),
})

export class AuditLog {
  constructor(
    private readonly q: () => Queryable,
    private readonly now: () => number,
  ) {}

  /** An action that is not a change of one record (an import, a sign-in): its own row. */
  async record(actor: Actor, action: string, target: string, detail: Record<string, unknown>): Promise<void> {
    checkActor(actor)
    await writeAudit(this.q(), this.now(), actor, action, target, detail)
  }

  /** Oldest first; `sinceId` gives the entries after it (what changed since a service last read). */
  async list(filter: { target?: string; sinceId?: number; limit?: number } = {}): Promise<AuditEntry[]> {
    const rows = await this.q().all(
      'SELECT * FROM audit_log WHERE id > $1 AND ($2 = \'\' OR target = $2) ORDER BY id LIMIT $3',
      [filter.sinceId ?? 0, filter.target ?? '', filter.limit ?? 1_000],
    )
    return rows.map(fromRow)
  }

  async latestId(): Promise<number> {
    const row = await this.q().get<{ id: unknown }>('SELECT MAX(id) AS id FROM audit_log')
    return num(row?.id) ?? 0
  }

  /**
   * The newest id and how many entries lie above `sinceId`. On PostgreSQL ids are handed out
   * before commit, so a slow transaction can commit a lower id after a higher one was read; the
   * count above a recent id still moves when it lands, where `latestId()` alone would not.
   */
  async since(sinceId: number): Promise<{ latestId: number; count: number }> {
    const row = await this.q().get<{ id: unknown; n: unknown }>('SELECT MAX(id) AS id, COUNT(*) AS n FROM audit_log WHERE id > $1', [sinceId])
    return { latestId: num(row?.id) ?? sinceId, count: Number(row?.n ?? 0) }
  }
}
