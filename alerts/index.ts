/** The alert service's public face for the CLI (cli/app.ts); everything else stays inside alerts/. */
export { alertsService } from './service.js'
export { AlertsEnv } from './config.js'
