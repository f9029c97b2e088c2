// The device contract v1 (contracts/names.ts, topics.ts, payloads.ts in the repository): topics,
// kinds, channels, the telemetry fields of each kind with their ranges, and the JSON encoders.
// Everything a device publishes is written here, so firmware/test checks it against the JSON
// Schema that `npm run schema` produces from the same zod schemas.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sy {

enum class Kind : uint8_t { Pump, Soil, Waterbank };
enum class Channel : uint8_t { Telemetry, Status, Event, Cmd, CmdAck };
enum class PumpState : uint8_t { Running, Idle, WeakSun, TankFull, Fault, Off };
// The canonical fault codes; None is JSON null.
enum class Fault : uint8_t { None, DryRun, Overcurrent, Overtemp, Undervolt, Overvolt, LockedRotor, SensorFault };

const char* kindName(Kind k);
bool parseKind(const char* s, Kind& out);
const char* channelName(Channel c);
const char* pumpStateName(PumpState s);
const char* faultName(Fault f);  // nullptr for None

// 2020-01-01T00:00:00Z and 2100-01-01T00:00:00Z (payloads.ts MIN_TS_MS, MAX_TS_MS): a `ts`
// outside is refused by every consumer, so the core never writes one.
constexpr int64_t kMinTsMs = 1577836800000LL;
constexpr int64_t kMaxTsMs = 4102444800000LL;

// Lengths in code points (payloads.ts).
constexpr size_t kMaxFwLen = 64;
constexpr size_t kMaxEventTypeLen = 64;
constexpr size_t kMaxDetailLen = 512;
constexpr size_t kMaxCmdIdLen = 64;
constexpr size_t kMaxAckErrorLen = 256;

// Farm and device ids: ^[a-z0-9][a-z0-9-]{0,31}$ (names.ts ID_PATTERN).
bool isId(const char* s);

// farm/{farm}/{kind}/{device}/{channel}; false when it does not fit.
bool topicOf(const char* farm, Kind kind, const char* device, Channel ch, char* out, size_t cap);

// One telemetry field: its JSON name, physical range, how many decimals are sent, and whether
// the schema requires it. An optional field is left out when its value is NaN.
struct FieldSpec {
  const char* name;
  double min;
  double max;
  int8_t decimals;  // 0 with integer = an integer field (raw_adc)
  bool required;
  bool integer;
};

constexpr size_t kMaxFields = 14;

// The fields of a kind, in the order they are written; `count` set to their number.
const FieldSpec* fieldsOf(Kind k, size_t& count);

// Field indexes, the same order as fieldsOf().
namespace pumpf { enum : uint8_t { pv_v, pv_a, pv_w, motor_a, motor_rpm, flow_lpm, pressure_bar, ctrl_temp_c, volume_l_today, run_s_total, irradiance_wm2, rssi_dbm, count }; }
namespace soilf { enum : uint8_t { vwc_pct, raw_adc, soil_temp_c, battery_v, rssi_dbm, count }; }
namespace bankf { enum : uint8_t { level_cm, level_pct, volume_l, battery_v, rssi_dbm, count }; }

// One reading of any kind: the numbers in fieldsOf(kind) order; pumps also carry state and fault.
struct Reading {
  Kind kind = Kind::Pump;
  double v[kMaxFields];
  PumpState state = PumpState::Idle;
  Fault fault = Fault::None;
  explicit Reading(Kind k);
};

struct EncodeResult {
  size_t len = 0;       // 0: not encoded
  uint8_t clamped = 0;  // values brought into their range
  const char* error = nullptr;
};

// Telemetry without its ts: `"seq":..,"boot":..,<fields>}` (see withTs). A finite value outside
// its range is clamped to it and counted; a required value that is not finite refuses the
// reading (a sensor that gave nothing must not be published as a number it did not read).
EncodeResult encodeTelemetryBody(const Reading& r, uint32_t seq, uint32_t boot, char* out, size_t cap);
// An event without its ts: `"type":..,"fault":..,"detail":..}`. fault is written only when
// `withFault` (fault_cleared names the fault it clears; a state change names none).
EncodeResult encodeEventBody(const char* type, bool withFault, Fault fault, const char* detail, char* out, size_t cap);
// `{"ts":<ts>,` + body: the whole payload. ts outside [kMinTsMs, kMaxTsMs] is refused.
EncodeResult withTs(int64_t tsMs, const char* body, size_t bodyLen, char* out, size_t cap);
// Status {online, ts, boot, fw}: the birth (retained) and the Last Will.
EncodeResult encodeStatus(bool online, int64_t tsMs, uint32_t boot, const char* fw, char* out, size_t cap);
// cmd/ack {id, ok, error?}; the id as received (cut to 64 code points).
EncodeResult encodeAck(const char* id, size_t idLen, bool ok, const char* error, char* out, size_t cap);

}  // namespace sy
