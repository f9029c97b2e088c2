/**
 * Which demo farms are training farms: the registry's `farms.training` flag (issue 14), the one
 * the alert router and its last-step check read, so the console's trainer panel and the alerts
 * can never disagree. SIM_TRAINING_FARMS and a scenario's `training` list only SET the flag at
 * start (a farm the registry lacks is added with it); they never clear it, so a farm marked with
 * `suanyang farm edit --training` stays marked. The fleet's flags then follow the registry live.
 */
import type { Logger } from '../runtime/logger.js'
import type { Registry } from '../registry/index.js'
import { RegistryWatch } from '../registry/watch.js'
import type { FarmSpec } from './farm.js'

const ACTOR = { who: 'sim', how: 'system' } as const

/** Sets the registry flag of the farms the plan calls training (the plan's flags came from the list). */
export async function markTrainingFarms(registry: Registry, farms: readonly FarmSpec[], log: Logger): Promise<void> {
  for (const f of farms.filter((x) => x.training)) {
    const known = await registry.farms.get(f.farm)
    const r = known ? await registry.farms.update(f.farm, { training: true }, ACTOR) : await registry.farms.add({ id: f.farm, training: true }, ACTOR)
    if (!r.ok && r.reason === 'exists') await registry.farms.update(f.farm, { training: true }, ACTOR) // added meanwhile by another starter
    else if (!r.ok) log.warn({ farm: f.farm, issues: r.issues }, 'could not mark the farm training in the registry')
    else if (r.changed) log.info({ farm: f.farm }, 'demo farm marked training in the registry')
  }
}

/** Lays the registry's flags over the fleet's farms; true when one changed. Pure apart from `farms`. */
export function applyTraining(farms: FarmSpec[], training: ReadonlySet<string>): boolean {
  let changed = false
  for (const f of farms) {
    const now = training.has(f.farm)
    if (f.training !== now) {
      f.training = now
      changed = true
    }
  }
  return changed
}

/** Follows the registry: the fleet's training flags re-read when its change counter moves. */
export function watchTraining(registry: Registry, farms: FarmSpec[], log: Logger, onChange: () => void): RegistryWatch<Set<string>> {
  return new RegistryWatch(registry, {
    read: async (r) => new Set((await r.farms.list({ training: true })).map((f) => f.id)),
    onChange: (training) => {
      if (applyTraining(farms, training)) onChange()
    },
    onError: (err) => log.warn({ err }, 'registry read failed: training farms kept'),
  })
}
