/** A farms file for tests: one farm with a farmer, a technician and a trainer, all on LINE. */
import { Farms, FarmsFile } from '../contacts.js'
import { AlertEngine, type EngineOptions } from '../engine.js'
import { FARM } from './readings.js'

export const LINE_IDS = {
  farmer: `U${'a'.repeat(32)}`,
  technician: `U${'b'.repeat(32)}`,
  trainer: `U${'c'.repeat(32)}`,
  stranger: `U${'d'.repeat(32)}`,
} as const

export function farmsFileJson(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 1,
    farms: {
      [FARM]: {
        name: 'สวนลุงสมชาย',
        escalateAfterMin: 15,
        contacts: [
          { id: 'somchai', name: 'สมชาย', role: 'farmer', line: LINE_IDS.farmer, phone: '0812345678' },
          { id: 'somsak', name: 'Somsak', role: 'technician', locale: 'en', line: LINE_IDS.technician, phone: '+66898765432' },
          { id: 'kru-ann', name: 'ครูแอน', role: 'trainer', line: LINE_IDS.trainer },
        ],
        devices: { 'pump-1': { name: 'ปั๊มบ่อ 1' } },
        ...over,
      },
    },
  }
}

export function testFarms(over: Record<string, unknown> = {}): Farms {
  return new Farms(FarmsFile.parse(farmsFileJson(over)), true)
}

export function testEngine(opts: Partial<Omit<EngineOptions, 'farms'>> & { farms?: Farms } = {}): AlertEngine {
  const farms = opts.farms ?? testFarms()
  let n = 0
  return new AlertEngine({
    available: { line: true, sms: true },
    uuid: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
    startedMs: 0,
    ...opts,
    farms: () => farms,
  })
}
