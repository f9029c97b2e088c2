/** Every migration in order. Append only: the last one is the newest schema version. */
import type { Migration } from '../migrate.js'
import { directory } from './001-directory.js'
import { fleet } from './002-fleet.js'
import { signIn } from './003-sign-in.js'
import { workOrders } from './004-work-orders.js'

export const MIGRATIONS: readonly Migration[] = [directory, fleet, signIn, workOrders]
