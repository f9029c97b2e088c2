#include "contract.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "json.h"

namespace sy {

static const char* const kKinds[] = {"pump", "soil", "waterbank"};
static const char* const kChannels[] = {"telemetry", "status", "event", "cmd", "cmd/ack"};
static const char* const kStates[] = {"running", "idle", "weak_sun", "tank_full", "fault", "off"};
static const char* const kFaults[] = {nullptr, "DRY_RUN", "OVERCURRENT", "OVERTEMP", "UNDERVOLT", "OVERVOLT", "LOCKED_ROTOR", "SENSOR_FAULT"};

const char* kindName(Kind k) { return kKinds[static_cast<int>(k)]; }
const char* channelName(Channel c) { return kChannels[static_cast<int>(c)]; }
const char* pumpStateName(PumpState s) { return kStates[static_cast<int>(s)]; }
const char* faultName(Fault f) { return kFaults[static_cast<int>(f)]; }

bool parseKind(const char* s, Kind& out) {
  for (int i = 0; i < 3; i++) {
    if (strcmp(s, kKinds[i]) == 0) { out = static_cast<Kind>(i); return true; }
  }
  return false;
}

bool isId(const char* s) {
  size_t n = strlen(s);
  if (n < 1 || n > 32) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0);
    if (!ok) return false;
  }
  return true;
}

bool topicOf(const char* farm, Kind kind, const char* device, Channel ch, char* out, size_t cap) {
  int n = snprintf(out, cap, "farm/%s/%s/%s/%s", farm, kindName(kind), device, channelName(ch));
  return n > 0 && static_cast<size_t>(n) < cap;
}

// Ranges from payloads.ts; decimals are what the sensors resolve (more would be noise).
static const FieldSpec kPump[] = {
    {"pv_v", 0, 1000, 2, true, false},
    {"pv_a", 0, 100, 2, true, false},
    {"pv_w", 0, 50000, 1, true, false},
    {"motor_a", 0, 100, 2, true, false},
    {"motor_rpm", 0, 10000, 0, true, false},
    {"flow_lpm", 0, 2000, 2, true, false},
    {"pressure_bar", 0, 40, 3, true, false},
    {"ctrl_temp_c", -20, 125, 1, true, false},
    {"volume_l_today", 0, 10000000, 1, true, false},
    {"run_s_total", 0, 10000000000.0, 0, true, false},
    {"irradiance_wm2", 0, 1600, 0, false, false},
    {"rssi_dbm", -130, 0, 0, false, false},
};
static const FieldSpec kSoil[] = {
    {"vwc_pct", 0, 100, 1, true, false},
    {"raw_adc", 0, 4095, 0, true, true},
    {"soil_temp_c", -20, 80, 1, true, false},
    {"battery_v", 0, 5, 3, true, false},
    {"rssi_dbm", -130, 0, 0, false, false},
};
static const FieldSpec kBank[] = {
    {"level_cm", 0, 5000, 1, true, false},
    {"level_pct", 0, 100, 1, true, false},
    {"volume_l", 0, 100000000, 0, true, false},
    {"battery_v", 0, 5, 3, false, false},
    {"rssi_dbm", -130, 0, 0, false, false},
};
static_assert(sizeof kPump / sizeof kPump[0] == pumpf::count, "pump field order");
static_assert(sizeof kSoil / sizeof kSoil[0] == soilf::count, "soil field order");
static_assert(sizeof kBank / sizeof kBank[0] == bankf::count, "water bank field order");

const FieldSpec* fieldsOf(Kind k, size_t& count) {
  switch (k) {
    case Kind::Pump: count = pumpf::count; return kPump;
    case Kind::Soil: count = soilf::count; return kSoil;
    default: count = bankf::count; return kBank;
  }
}

// The end of every encoder: the text, or why there is none.
static EncodeResult done(JsonWriter& w, EncodeResult res) {
  if (!w.finish()) {
    res.error = "does not fit";
    return res;
  }
  res.len = w.size();
  return res;
}

Reading::Reading(Kind k) : kind(k) {
  for (double& x : v) x = NAN;
}

EncodeResult encodeTelemetryBody(const Reading& r, uint32_t seq, uint32_t boot, char* out, size_t cap) {
  EncodeResult res;
  JsonWriter w(out, cap);
  w.key("seq").u64(seq).key("boot").u64(boot);
  size_t n = 0;
  const FieldSpec* f = fieldsOf(r.kind, n);
  for (size_t i = 0; i < n; i++) {
    double x = r.v[i];
    if (!std::isfinite(x)) {
      if (f[i].required) { res.error = f[i].name; return res; }
      continue;
    }
    // Bounds are whole numbers, so a value clamped first stays in range once rounded.
    if (x < f[i].min) { x = f[i].min; res.clamped++; }
    if (x > f[i].max) { x = f[i].max; res.clamped++; }
    if (f[i].integer) x = std::floor(x + 0.5);
    w.key(f[i].name).num(x, f[i].decimals);
  }
  if (r.kind == Kind::Pump) {
    w.key("state").str(pumpStateName(r.state), 16);
    w.key("fault");
    if (r.fault == Fault::None) w.null(); else w.str(faultName(r.fault), 16);
  }
  w.close();
  return done(w, res);
}

EncodeResult encodeEventBody(const char* type, bool withFault, Fault fault, const char* detail, char* out, size_t cap) {
  EncodeResult res;
  JsonWriter w(out, cap);
  size_t typeLen = strlen(type);
  if (typeLen == 0) { res.error = "empty event type"; return res; }
  w.key("type").str(type, typeLen, kMaxEventTypeLen);
  if (withFault) {
    w.key("fault");
    if (fault == Fault::None) w.null(); else w.str(faultName(fault), 16);
  }
  if (detail != nullptr && detail[0] != '\0') w.key("detail").str(detail, kMaxDetailLen);
  w.close();
  return done(w, res);
}

EncodeResult withTs(int64_t tsMs, const char* body, size_t bodyLen, char* out, size_t cap) {
  EncodeResult res;
  if (tsMs < kMinTsMs || tsMs > kMaxTsMs) { res.error = "ts outside 2020..2100: clock not synced"; return res; }
  if (bodyLen == 0 || body[bodyLen - 1] != '}') { res.error = "no body"; return res; }
  JsonWriter w(out, cap);
  w.open().key("ts").i64(tsMs);
  if (bodyLen > 0 && body[0] != '}') w.raw(",", 1);
  w.raw(body, bodyLen);
  return done(w, res);
}

EncodeResult encodeStatus(bool online, int64_t tsMs, uint32_t boot, const char* fw, char* out, size_t cap) {
  EncodeResult res;
  if (tsMs < kMinTsMs || tsMs > kMaxTsMs) { res.error = "ts outside 2020..2100: clock not synced"; return res; }
  JsonWriter w(out, cap);
  w.open().key("online").boolean(online).key("ts").i64(tsMs).key("boot").u64(boot);
  if (fw != nullptr) w.key("fw").str(fw, kMaxFwLen);
  w.close();
  return done(w, res);
}

EncodeResult encodeAck(const char* id, size_t idLen, bool ok, const char* error, char* out, size_t cap) {
  EncodeResult res;
  JsonWriter w(out, cap);
  w.open().key("id");
  if (idLen == 0) w.str("invalid", kMaxCmdIdLen); else w.str(id, idLen, kMaxCmdIdLen);
  w.key("ok").boolean(ok);
  if (!ok && error != nullptr) w.key("error").str(error, kMaxAckErrorLen);
  w.close();
  return done(w, res);
}

}  // namespace sy
