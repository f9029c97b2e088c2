/**
 * Which demo farms are training farms: the registry's `farms.training` flag (issue 14), the one
 * the alert router and its last-step check read, so the console's trainer panel and the alerts
 * can never disagree. SIM_TRAINING_FARMS and a scenario's `training` list only SET the flag at
 * start (a farm the registry lacks is added with it); they never clear it, so a farm marked with
 * `suanyang farm edit --training` stays marked. The fleet's flags then follow the registry live.
 */
import type { Logger } from '../runtime/logger.js'
import type { Registry } from '../registry/index.js'
import type { FarmSpec } from './farm.js'

const ACTOR = { who: 'sim', how: 'system' } as const
export const TRAINING_REFRESH_MS = 250

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

/** Follows the registry: re-reads the training farms when its change counter moves. */
export class TrainingWatch {
  private seenId = -1
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly registry: Registry,
    private readonly farms: FarmSpec[],
    private readonly log: Logger,
    private readonly onChange: () => void,
  ) {}

  async start(refreshMs = TRAINING_REFRESH_MS): Promise<void> {
    await this.refresh()
    this.timer = setInterval(() => void this.refresh().catch((err: unknown) => this.log.warn({ err }, 'registry read failed: training farms kept')), refreshMs)
    this.timer.unref()
  }

  private busy = false
  async refresh(): Promise<void> {
    if (this.busy) return
    this.busy = true
    try {
      const latest = await this.registry.audit.latestId()
      if (latest === this.seenId) return
      const training = new Set((await this.registry.farms.list({ training: true })).map((f) => f.id))
      this.seenId = latest
      if (applyTraining(this.farms, training)) this.onChange()
    } finally {
      this.busy = false
    }
  }

  close(): void {
    clearInterval(this.timer)
  }
}
