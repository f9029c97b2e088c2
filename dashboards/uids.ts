/** Stable dashboard uids: URLs and links between dashboards rely on them (never reuse one). */
export const UIDS = {
  fleet: 'suanyang-fleet',
  pump: 'suanyang-pump',
  waterSoil: 'suanyang-water-soil',
  workshop: 'suanyang-workshop',
  alerts: 'suanyang-alerts',
} as const
