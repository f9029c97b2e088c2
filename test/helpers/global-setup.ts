/**
 * vitest globalSetup of the integration project: fail the whole run at once, with the install
 * line, when a binary the tests drive is missing (never skip).
 */
import { INSTALL_ALL, missingBinaries } from './binaries.js'

export default function setup(): void {
  const missing = missingBinaries()
  if (missing.length > 0) {
    throw new Error(
      `integration tests need ${missing.join(', ')} (not found on PATH): install them with \`${INSTALL_ALL}\``,
    )
  }
}
