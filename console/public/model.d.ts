/** Types of model.js (the page's state), for the console's unit tests. */
import type { Series } from './series.js'

export type Kind = 'pump' | 'soil' | 'waterbank'
export interface Device {
  farm: string
  kind: Kind
  device: string
  telemetry: Record<string, unknown> | null
  receivedMs: number
  online: boolean | null
  series: Series
}
export interface Farm {
  farm: string
  training: boolean
  devices: string[]
}
export interface Model {
  farms: Map<string, Farm>
  devices: Map<string, Device>
}
export interface TopicAt {
  farm: string
  kind: Kind
  device: string
  channel: string
}
export type Change =
  | { kind: 'ack'; at: TopicAt; ack: Record<string, unknown> }
  | { kind: 'status'; device: Device; created: boolean }
  | { kind: 'telemetry'; device: Device; created: boolean; latest: boolean; charted: boolean }

export declare function createModel(): Model
export declare function parseTopic(topic: string): TopicAt | null
export declare function ensureDevice(model: Model, farm: string, kind: Kind, device: string): { device: Device; created: boolean }
export declare function applyMessage(model: Model, topic: string, payload: unknown, nowMs: number): Change | null
export declare function loadHistory(
  model: Model,
  devices: Array<{ farm: string; kind: Kind; device: string; latest: Record<string, unknown>; receivedMs: number; series: Series }>,
): void
export declare function setTraining(model: Model, trainingFarms: readonly string[]): boolean
export declare function farmParts(model: Model, farm: Farm): { pumps: Device[]; banks: Device[]; soils: Device[] }
