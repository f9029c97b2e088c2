import { describe, expect, it } from 'vitest'
import { toSqliteParams } from './db.js'

describe('toSqliteParams', () => {
  it('numbers each parameter explicitly, so order and repeats bind the right value', () => {
    expect(toSqliteParams('SELECT * FROM t WHERE b = $2 AND a = $1 OR c = $2')).toBe('SELECT * FROM t WHERE b = ?2 AND a = ?1 OR c = ?2')
    expect(toSqliteParams('VALUES ($10, $1)')).toBe('VALUES (?10, ?1)')
  })

  it('leaves quoted strings and identifiers alone', () => {
    expect(toSqliteParams(`SELECT '$1', "a$2", 'it''s $3' FROM t WHERE x = $1`)).toBe(`SELECT '$1', "a$2", 'it''s $3' FROM t WHERE x = ?1`)
  })
})
