import { describe, expect, it } from 'vitest'
import { from, ident, literal, recent, select, showTagValues, subquery } from './influxql.js'

const pump = from('pump')

describe('the InfluxQL builder', () => {
  it('renders clauses in the order InfluxQL requires', () => {
    const sql = select({
      from: pump,
      columns: [pump.agg('mean', 'flow_lpm'), pump.agg('spread', 'run_s_total', { as: 'h', per: 3600 })],
      where: [pump.tagIn('farm', 'farm'), pump.is('state', 'running')],
      time: { kind: 'dashboard' },
      groupByTime: { every: '1d', offset: '-7h' },
      groupByTags: ['device'],
      fill: 'null',
      orderByTimeDesc: true,
      limit: 1,
    })
    expect(sql).toBe(
      'SELECT mean("flow_lpm") AS "flow_lpm", spread("run_s_total") / 3600 AS "h" FROM "pump" ' +
        `WHERE "farm" =~ /^$farm$/ AND "state" = 'running' AND $timeFilter ` +
        'GROUP BY time(1d, -7h), "device" fill(null) ORDER BY time DESC LIMIT 1',
    )
  })

  it('selects from a subquery by the names the inner query returns, and refuses others', () => {
    const inner = subquery({ from: pump, columns: [pump.agg('last', 'state')], time: recent('15m'), groupByTags: ['device'] })
    expect(select({ from: inner, columns: [inner.agg('count', 'state', { as: 'n' })], where: [inner.is('state', 'fault')] })).toBe(
      `SELECT count("state") AS "n" FROM (SELECT last("state") AS "state" FROM "pump" WHERE time > now() - 15m GROUP BY "device") WHERE "state" = 'fault'`,
    )
    expect(() => inner.agg('count', 'flow_lpm')).toThrow(/no column flow_lpm/)
  })

  it('quotes identifiers and strings', () => {
    expect(ident('a"b')).toBe('"a\\"b"')
    expect(literal("it's")).toBe("'it\\'s'")
    expect(showTagValues({ from: ['soil', 'pump'], key: 'device' })).toBe('SHOW TAG VALUES FROM "soil", "pump" WITH KEY = "device"')
  })

  it('is checked by tsc against the contracts (a renamed field does not compile)', () => {
    // Each line below must fail the typecheck; `npm run typecheck` reports an unused directive otherwise.
    // @ts-expect-error: not a pump field
    expect(() => pump.agg('mean', 'flow_lpmx')).not.toThrow()
    // @ts-expect-error: not a pump state
    pump.is('state', 'runnin')
    // @ts-expect-error: pumps have no rule tag
    pump.tagIn('rule', 'x')
    // @ts-expect-error: not an alert status
    from('alert').is('status', 'open')
    // @ts-expect-error: not a measurement
    from('status')
  })
})
