// Imported into the broker process by bench/idle.ts (`--import`): on SIGUSR2 it writes the
// process's memory breakdown as JSON to $SUANYANG_PROBE_OUT (after a full GC when --expose-gc is
// on, so "used" is the live size), and a heap snapshot too when $SUANYANG_PROBE_SNAPSHOT is set.
// A bench tool only: the product never loads it.
import { writeFileSync } from 'node:fs'
import process from 'node:process'
import v8 from 'node:v8'

process.on('SIGUSR2', () => {
  const out = process.env.SUANYANG_PROBE_OUT
  if (!out) return
  const before = { memory: process.memoryUsage(), heap: v8.getHeapStatistics(), spaces: v8.getHeapSpaceStatistics() }
  if (typeof globalThis.gc === 'function') globalThis.gc()
  const after = { memory: process.memoryUsage(), heap: v8.getHeapStatistics(), spaces: v8.getHeapSpaceStatistics() }
  const snapshot = process.env.SUANYANG_PROBE_SNAPSHOT ? v8.writeHeapSnapshot(`${process.env.SUANYANG_PROBE_SNAPSHOT}-${Date.now()}.heapsnapshot`) : undefined
  writeFileSync(out, JSON.stringify({ before, after, snapshot }))
})
