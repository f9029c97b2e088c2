/**
 * What each alert says, in Thai (default) and English: what happened, and the one thing to check
 * first (notifications.md 3.6: place, time, likely cause, a single next action, no jargon).
 */
import type { Kind } from '../contracts/names.js'
import type { Locale } from './contacts.js'
import type { RuleId } from './types.js'

export interface RuleText {
  title: string
  check: string
}

export const RULE_TEXT: Readonly<Record<Locale, Readonly<Record<RuleId, RuleText>>>> = {
  th: {
    dry_run: { title: 'ปั๊มทำงานแห้ง ไม่มีน้ำเข้า', check: 'ดูระดับน้ำในบ่อหรือบ่อบาดาล และท่อดูดว่ามีอากาศรั่ว' },
    overcurrent: { title: 'มอเตอร์กินกระแสเกิน', check: 'ปิดปั๊ม ตรวจใบพัดว่ามีทรายหรือเศษติด และสายไฟ' },
    overtemp: { title: 'กล่องควบคุมร้อนเกินไป', check: 'บังแดดให้กล่องควบคุม และปัดฝุ่นที่ครีบระบายความร้อน' },
    undervolt: { title: 'ไฟจากแผงโซลาร์ต่ำผิดปกติ', check: 'ตรวจขั้วต่อสายแผง (MC4) และสายไฟที่หลวมหรือขาด' },
    overvolt: { title: 'ไฟจากแผงสูงเกินพิกัดกล่องควบคุม', check: 'ปิดระบบ ตรวจจำนวนแผงที่ต่ออนุกรม แล้วแจ้งช่าง' },
    locked_rotor: { title: 'มอเตอร์ติด หมุนไม่ได้', check: 'ปิดปั๊ม ตรวจทรายหรือเศษที่ติดในปั๊ม' },
    sensor_fault: { title: 'เซนเซอร์ของปั๊มผิดปกติ', check: 'ตรวจสายเซนเซอร์ระดับน้ำและแรงดัน' },
    no_flow: { title: 'ปั๊มทำงานแต่ไม่มีน้ำไหล', check: 'ดูวาล์วที่ปิดอยู่ ท่อแตกหรืออุดตัน และตะแกรงหัวดูด' },
    not_running: { title: 'แดดดีแต่ปั๊มไม่ทำงาน', check: 'ตรวจสวิตช์ ลูกลอยในถัง และไฟที่กล่องควบคุม' },
    pv_low: { title: 'ไฟจากแผงโซลาร์ต่ำกว่าที่ควร', check: 'ล้างแผงด้วยน้ำสะอาดตอนเช้าหรือเย็น ดูเงาไม้และสายไฟ' },
    pv_soiling: { title: 'แผงโซลาร์สกปรก ไฟลดลง', check: 'ล้างแผงด้วยน้ำสะอาดตอนเช้าหรือเย็น' },
    efficiency_drop: { title: 'ปั๊มได้น้ำน้อยลงกว่าปกติ', check: 'ล้างตะแกรงหัวดูดและไส้กรอง ตรวจท่อรั่ว' },
    water_balance: { title: 'น้ำจากปั๊มไม่ถึงถังน้ำ ท่ออาจรั่ว', check: 'เดินดูท่อส่งน้ำจากปั๊มถึงถัง หาจุดน้ำรั่วหรือดินเปียก' },
    bearing_wear: { title: 'ปั๊มสึกหรอ กินไฟมากขึ้น น้ำน้อยลง', check: 'ฟังเสียงปั๊มผิดปกติ แล้วนัดช่างตรวจลูกปืนและใบพัด' },
    offline: { title: 'อุปกรณ์ขาดการติดต่อ', check: 'ตรวจไฟเลี้ยงและสัญญาณซิมหรือเน็ตที่อุปกรณ์' },
    level_low: { title: 'ระดับน้ำต่ำ', check: 'ดูว่าปั๊มเติมน้ำได้ และการใช้น้ำ' },
    overflow: { title: 'ถังน้ำล้น ปั๊มยังเติมอยู่', check: 'ตรวจลูกลอยตัดปั๊มในถัง' },
    soil_dry: { title: 'ดินแห้ง ควรให้น้ำ', check: 'เปิดน้ำให้แปลง และดูหัวน้ำหยดอุดตัน' },
    sensor_stuck: { title: 'ค่าเซนเซอร์ค้าง ไม่เปลี่ยน', check: 'ตรวจสายและหัววัด แล้วรีสตาร์ทอุปกรณ์' },
    sensor_range: { title: 'ค่าเซนเซอร์ความชื้นดินผิดปกติ', check: 'ดูว่าหัววัดหลุดจากดินหรือสายขาด' },
    low_battery: { title: 'แบตเตอรี่อุปกรณ์ใกล้หมด', check: 'ชาร์จหรือเปลี่ยนแบตเตอรี่ ตรวจแผงชาร์จ' },
  },
  en: {
    dry_run: { title: 'Pump running dry', check: 'Check the water level in the pond or well, and the suction pipe for air leaks.' },
    overcurrent: { title: 'Motor overcurrent', check: 'Switch off; check the impeller for sand or debris, and the wiring.' },
    overtemp: { title: 'Controller overheating', check: 'Shade the controller box and clean dust from its cooling fins.' },
    undervolt: { title: 'Solar voltage too low', check: 'Check the panel connectors (MC4) and cables for loose or broken wires.' },
    overvolt: { title: "Solar voltage above the controller's limit", check: 'Switch off, count the panels in series, call the technician.' },
    locked_rotor: { title: 'Motor locked', check: 'Switch off and check the pump for sand or debris.' },
    sensor_fault: { title: 'Pump sensor fault', check: 'Check the level and pressure sensor cables.' },
    no_flow: { title: 'Pump running but no water flowing', check: 'Check for a closed valve, a blocked or broken pipe, and the intake strainer.' },
    not_running: { title: 'Good sun but the pump is not running', check: "Check the switch, the tank float and the controller's lights." },
    pv_low: { title: 'Solar power well below expected', check: 'Wash the panels with clean water early or late in the day; check shade and cables.' },
    pv_soiling: { title: 'Solar panels dirty: less power', check: 'Wash the panels with clean water early or late in the day.' },
    efficiency_drop: { title: 'Pump delivers less water than usual', check: 'Clean the intake strainer and the filter; check pipes for leaks.' },
    water_balance: { title: "Pumped water is not reaching the water bank: pipe leak", check: 'Walk the delivery pipe from the pump to the bank; look for a leak or wet ground.' },
    bearing_wear: { title: 'Pump wearing: more current, less water', check: 'Listen for noise from the pump; book the technician to check bearings and impeller.' },
    offline: { title: 'Device offline', check: "Check the device's power and its SIM or network signal." },
    level_low: { title: 'Water level low', check: 'Check the pump is filling it, and how much water is used.' },
    overflow: { title: 'Tank overflowing while the pump runs', check: 'Check the float switch in the tank.' },
    soil_dry: { title: 'Soil is dry: irrigate', check: 'Water the plot and check the drip emitters for blockage.' },
    sensor_stuck: { title: 'Sensor reading stuck', check: 'Check the cable and the probe, then restart the device.' },
    sensor_range: { title: 'Soil sensor out of range', check: 'Check the probe is in the soil and its cable is intact.' },
    low_battery: { title: 'Device battery low', check: 'Charge or replace the battery; check its solar charger.' },
  },
}

export const KIND_TEXT: Readonly<Record<Locale, Readonly<Record<Kind, string>>>> = {
  th: { pump: 'ปั๊ม', soil: 'เซนเซอร์ดิน', waterbank: 'ถังน้ำ' },
  en: { pump: 'pump', soil: 'soil probe', waterbank: 'water tank' },
}

/** Fixed phrases. `{x}` placeholders are filled by `fill`. */
export const PHRASES = {
  th: {
    since: 'ตั้งแต่ {time} น.',
    check: 'ตรวจก่อน: {check}',
    ack: 'รับทราบ',
    acked: 'รับทราบแล้ว',
    escalated: 'ยังไม่มีผู้รับทราบ แจ้งต่อถึงคุณ',
    resolved: 'กลับเป็นปกติแล้ว',
    resolvedBy: 'ปิดเรื่องโดย {by}',
    flapping: '{title} เกิดซ้ำหลายครั้ง (ติดๆ ดับๆ) จะแจ้งอีกครั้งเมื่อนิ่งแล้ว',
    ackReply: 'รับทราบโดย {by} {time} น.',
    alreadyAcked: 'รับทราบไปแล้วโดย {by}',
    closed: 'เรื่องนี้ปิดไปแล้ว',
    notAllowed: 'บัญชี LINE นี้ยังไม่ได้ลงทะเบียนกับฟาร์มนี้',
    welcome: 'สวัสดีครับ กรุณาพิมพ์รหัส 6 หลักที่ได้จากช่างเพื่อลงทะเบียนรับแจ้งเตือน',
    linked: 'ลงทะเบียนสำเร็จ คุณ{name} จะได้รับแจ้งเตือนทาง LINE',
    badCode: 'รหัสไม่ถูกต้องหรือหมดอายุ',
    codeWait: 'พิมพ์รหัสผิดหลายครั้งเกินไป กรุณารอ {min} นาทีแล้วลองใหม่',
  },
  en: {
    since: 'since {time}',
    check: 'Check first: {check}',
    ack: 'Acknowledge',
    acked: 'Acknowledged',
    escalated: 'Nobody has acknowledged yet: passed on to you',
    resolved: 'back to normal',
    resolvedBy: 'closed by {by}',
    flapping: '{title} keeps coming and going; you will hear again when it settles',
    ackReply: 'Acknowledged by {by} at {time}',
    alreadyAcked: 'Already acknowledged by {by}',
    closed: 'This alert is already closed',
    notAllowed: 'This LINE account is not registered for this farm',
    welcome: 'Hello. Please type the 6-digit code from your technician to receive alerts here.',
    linked: 'Registered. {name} will receive alerts on LINE.',
    badCode: 'Wrong or expired code',
    codeWait: 'Too many wrong codes. Please wait {min} minutes and try again.',
  },
} as const satisfies Record<Locale, Record<string, string>>

export type Phrase = keyof (typeof PHRASES)['th']

export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? '')
}

export function phrase(locale: Locale, key: Phrase, values: Record<string, string> = {}): string {
  return fill(PHRASES[locale][key], values)
}
