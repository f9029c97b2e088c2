#include "device.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace sy {

Device::Device(const DeviceConfig& cfg, Flash& flash, Nvs& nvs, MqttPort& mqtt, Sensors& sensors, PumpDrive* drive, DeviceObserver* obs)
    : cfg_(cfg), nvs_(nvs), sensors_(sensors), drive_(drive), obs_(obs), ring_(flash),
      uplink_(upCfg_, mqtt, ring_, *this, hashOf(cfg.device)) {
  for (int c = 0; c < 5; c++) topicOf(cfg_.farm, cfg_.kind, cfg_.device, static_cast<Channel>(c), topics_[c], sizeof topics_[c]);
  // Username = device id; the client id must start with it (the broker's rule).
  upCfg_.clientId = cfg_.device;
  upCfg_.username = cfg_.device;
  upCfg_.password = cfg_.password;
  upCfg_.statusTopic = topics_[static_cast<int>(Channel::Status)];
  upCfg_.cmdTopic = topics_[static_cast<int>(Channel::Cmd)];
  upCfg_.replayPerS = cfg_.replayPerS > 0 ? cfg_.replayPerS : 1;
  upCfg_.connectTimeoutMs = cfg_.connectTimeoutMs;
}

static uint32_t defaultInterval(Kind k) { return k == Kind::Pump ? 5 : k == Kind::Soil ? 900 : 300; }

bool Device::begin(int64_t monoMs) { return begin(monoMs, WakeState()); }

WakeState Device::sleepState() const {
  WakeState w;
  w.magic = WakeState::kMagic;
  w.boot = boot_;
  w.seq = seq_;
  return w;
}

bool Device::begin(int64_t monoMs, const WakeState& wake) {
  if (begun_) return true;
  if (!ring_.mount()) {
    if (obs_) obs_->problem("flash", "the partition cannot hold a ring", 1);
    return false;
  }
  if (ring_.tornAtMount() > 0 && obs_) obs_->problem("torn", "appends cut by a power loss, skipped", ring_.tornAtMount());
  uint32_t boot = 0;
  nvs_.getU32("boot", boot);
  const bool woke = wake.magic == WakeState::kMagic && wake.boot > 0 && wake.boot == boot;
  if (woke) {
    boot_ = wake.boot;
    seq_ = wake.seq;
  } else {
    if (!nvs_.setU32("boot", boot + 1)) {
      if (obs_) obs_->problem("nvs", "the boot counter could not be saved", 1);
      return false;
    }
    boot_ = boot + 1;
    seq_ = 0;
  }
  uplink_.reseed(hashOf(cfg_.device) ^ (static_cast<uint64_t>(boot_) * 0x9E3779B97F4A7C15ULL));
  uint32_t v = 0;
  intervalS_ = cfg_.intervalS > 0 ? cfg_.intervalS : defaultInterval(cfg_.kind);
  idleS_ = cfg_.idleIntervalS > 0 ? cfg_.idleIntervalS : 60;
  if (nvs_.getU32("interval_s", v) && validIntervalS(true, v)) intervalS_ = v;
  if (nvs_.getU32("idle_s", v) && validIntervalS(true, v)) idleS_ = v;
  if (cfg_.kind == Kind::Pump) {
    // What must outlive a reboot: the run-time counter and the dry-run latch with its day's
    // count (a latched pump must not restart because its monitor lost power).
    if (nvs_.getU32("run_s", v)) ctl_.runSTotal = persistedRunS_ = v;
    uint32_t n = 0, day = 0xFFFFFFFF, latched = 0;
    nvs_.getU32("dry_n", n);
    nvs_.getU32("dry_day", day);
    nvs_.getU32("dry_latch", latched);
    ctl_.dryRetriesToday = n;
    ctl_.day = day == 0xFFFFFFFF ? -1 : static_cast<int32_t>(day);
    if (latched != 0) {
      ctl_.fault = Fault::DryRun;
      ctl_.latched = true;
      ctl_.mode = PumpState::Fault;
    }
    persistedDry_[0] = n;
    persistedDry_[1] = day;
    persistedDry_[2] = latched;
    if (drive_) drive_->drive(false, 1);
  }
  nextStepMs_ = monoMs;
  begun_ = true;
  if (woke) return true;  // not a boot: no boot event
  char detail[96];
  snprintf(detail, sizeof detail, "boot %u, fw %s%s", static_cast<unsigned>(boot_), cfg_.fw, ctl_.latched ? ", dry-run latch kept" : "");
  event("boot", false, Fault::None, detail, monoMs);
  return true;
}

int32_t Device::localDay(int64_t monoMs) const {
  if (!clock_.synced()) return -1;
  int64_t local = clock_.epochAt(monoMs) + static_cast<int64_t>(cfg_.tzOffsetMin) * 60000;
  return static_cast<int32_t>(local / 86400000);
}

void Device::onTimeSynced(int64_t epochMs, int64_t monoMs) {
  const bool first = !clock_.synced();
  if (!clock_.sync(epochMs, monoMs)) {
    if (obs_) obs_->problem("sntp", "answer outside 2020..2100 ignored", 1);
    return;
  }
  if (!first) return;
  for (const PreSyncHold::Item* it = hold_.front(); it != nullptr; it = hold_.front()) {
    store(static_cast<Channel>(it->channel), it->tag, it->monoMs, it->body, it->len, true);
    hold_.pop();
  }
}

void Device::tick(int64_t monoMs, bool linkUp) {
  if (!begun_) return;
  // One step a second of device time; after a long stall, skip ahead rather than loop.
  for (int steps = 0; nextStepMs_ <= monoMs; steps++) {
    if (steps >= 3600) {
      nextStepMs_ = monoMs;
      if (obs_) obs_->problem("stall", "more than an hour of steps skipped", 1);
    }
    step(nextStepMs_);
    nextStepMs_ += kStepMs;
  }
  uplink_.tick(monoMs, linkUp && clock_.synced());
}

void Device::step(int64_t t) {
  if (cfg_.kind == Kind::Pump) return stepPumpAt(t);
  if (anyTelemetry_ && t - lastTelemetryMs_ < static_cast<int64_t>(intervalS_) * 1000) return;
  if (cfg_.kind == Kind::Soil) sampleSoil(t);
  else sampleBank(t);
}

void Device::stepPumpAt(int64_t t) {
  PumpSensors ps;
  if (!sensors_.readPump(t, ps)) {
    ps = PumpSensors();
    ps.ctrl_temp_c = NAN;  // nothing read: the controller stops the pump (SENSOR_FAULT)
  }
  lastPump_ = ps;
  // Telemetry shows the state that drove the motor the sensors just measured. A state change is
  // reported at the next step, once the drive has reacted, as the simulator's readings show.
  const uint32_t periodS = ctl_.mode == PumpState::Running ? intervalS_ : idleS_;
  if (reportNow_ || !anyTelemetry_ || t - lastTelemetryMs_ >= static_cast<int64_t>(periodS) * 1000) {
    Reading r(Kind::Pump);
    r.v[pumpf::pv_v] = ps.pv_v;
    r.v[pumpf::pv_a] = ps.pv_a;
    r.v[pumpf::pv_w] = ps.pv_w;
    r.v[pumpf::motor_a] = ps.motor_a;
    r.v[pumpf::motor_rpm] = ps.motor_rpm;
    r.v[pumpf::flow_lpm] = ps.flow_lpm;
    r.v[pumpf::pressure_bar] = ps.pressure_bar;
    // A heatsink sensor that gives nothing reads as its rail, 125 C (the simulator's signature).
    r.v[pumpf::ctrl_temp_c] = tempSensorBad(ps.ctrl_temp_c) ? 125 : ps.ctrl_temp_c;
    r.v[pumpf::volume_l_today] = ctl_.volumeLToday;
    r.v[pumpf::run_s_total] = std::floor(ctl_.runSTotal);
    r.v[pumpf::irradiance_wm2] = ps.irradiance_wm2;
    r.v[pumpf::rssi_dbm] = sensors_.rssiDbm();
    r.state = ctl_.mode;
    r.fault = ctl_.fault;
    sendTelemetry(r, t);
  }
  PumpInputs in;
  in.availableW = ps.available_w;
  in.vocV = ps.voc_v;
  in.rpm = ps.motor_rpm;
  in.flowLpm = ps.flow_lpm;
  in.ctrlTempC = ps.ctrl_temp_c;
  in.tankFull = ps.float_open;
  in.day = localDay(t);
  PumpEvents ev;
  const PumpState before = ctl_.mode;
  ctl_ = stepPump(cfg_.pump, ctl_, in, kStepMs / 1000.0, t, ev);
  if (drive_) drive_->drive(ctl_.run, ctl_.speedLimit);
  emitPumpEvents(ev, t);
  if (ctl_.mode != before) reportNow_ = true;
  persistPump();
}

void Device::sampleSoil(int64_t t) {
  SoilSensors s;
  if (!sensors_.readSoil(t, s)) {
    counters_.refused++;
    if (obs_) obs_->problem("sensor", "soil probe gave nothing", 1);
    lastTelemetryMs_ = t;  // try again at the next interval, not every second
    anyTelemetry_ = true;
    return;
  }
  Reading r(Kind::Soil);
  r.v[soilf::raw_adc] = s.raw_adc;
  r.v[soilf::vwc_pct] = std::isfinite(s.raw_adc) ? vwcFromRaw(s.raw_adc) : NAN;
  r.v[soilf::soil_temp_c] = ds18b20(s.soil_temp_c);
  r.v[soilf::battery_v] = s.battery_v;
  r.v[soilf::rssi_dbm] = sensors_.rssiDbm();
  sendTelemetry(r, t);
}

void Device::sampleBank(int64_t t) {
  BankSensors s;
  const bool ok = sensors_.readBank(t, s);
  const double level = ok ? levelFromPings(s.ping_cm, cfg_.bank) : NAN;
  if (!std::isfinite(level)) {
    // Three or more of five pings without an echo: nothing is published, seq does not move.
    lastTelemetryMs_ = t;
    anyTelemetry_ = true;
    return;
  }
  const BankGeometry& g = cfg_.bank;
  Reading r(Kind::Waterbank);
  r.v[bankf::level_cm] = level;
  r.v[bankf::level_pct] = g.usable_cm > 0 ? level / g.usable_cm * 100 : 0;
  r.v[bankf::volume_l] = g.area_m2 * (level < g.usable_cm ? level : g.usable_cm) * 10;
  r.v[bankf::battery_v] = s.battery_v;
  r.v[bankf::rssi_dbm] = sensors_.rssiDbm();
  sendTelemetry(r, t);
}

void Device::sendTelemetry(Reading& r, int64_t t) {
  lastTelemetryMs_ = t;
  anyTelemetry_ = true;
  reportNow_ = false;
  EncodeResult e = encodeTelemetryBody(r, seq_, boot_, body_, sizeof body_);
  if (e.len == 0) {
    counters_.refused++;
    if (obs_) obs_->problem("refused", e.error, 1);
    return;  // seq does not move: no gap for a reading never made
  }
  if (e.clamped > 0) {
    counters_.clamped += e.clamped;
    if (obs_) obs_->problem("clamped", "values brought into the contract's range", e.clamped);
  }
  commit(Channel::Telemetry, seq_, t, body_, e.len);
  seq_++;
  counters_.readings++;
}

void Device::emitPumpEvents(const PumpEvents& ev, int64_t t) {
  for (size_t i = 0; i < ev.n; i++) {
    const PumpEvent& e = ev.e[i];
    if (e.type == PumpEvent::State) event("state", false, Fault::None, e.detail, t);
    else if (e.type == PumpEvent::FaultRaised) event("fault", true, e.fault, e.detail, t);
    else event("fault_cleared", true, e.fault, e.detail, t);
  }
}

void Device::event(const char* type, bool withFault, Fault fault, const char* detail, int64_t t) {
  EncodeResult e = encodeEventBody(type, withFault, fault, detail, body_, sizeof body_);
  if (e.len == 0) {
    counters_.refused++;
    if (obs_) obs_->problem("refused", e.error, 1);
    return;
  }
  commit(Channel::Event, 0, t, body_, e.len);
  counters_.events++;
}

void Device::commit(Channel ch, uint32_t tag, int64_t takenMonoMs, const char* body, size_t len) {
  if (clock_.synced()) return store(ch, tag, takenMonoMs, body, len, false);
  const uint32_t before = hold_.dropped();
  hold_.push(static_cast<uint8_t>(ch), tag, takenMonoMs, body, static_cast<uint16_t>(len));
  if (hold_.dropped() != before) {
    counters_.droppedPreSync += hold_.dropped() - before;
    if (obs_) obs_->problem("dropped", "clock not synced: the oldest held reading dropped", hold_.dropped() - before);
  }
}

void Device::store(Channel ch, uint32_t tag, int64_t takenMonoMs, const char* body, size_t len, bool held) {
  // The time the reading was taken; strictly increasing per channel, because InfluxDB keys a
  // point by its time: two events in one millisecond would overwrite each other.
  const int c = static_cast<int>(ch);
  int64_t ts = clock_.epochAt(takenMonoMs);
  if (ts <= lastTs_[c]) ts = lastTs_[c] + 1;
  EncodeResult e = withTs(ts, body, len, payload_, sizeof payload_);
  if (e.len == 0) {
    counters_.refused++;
    if (obs_) obs_->problem("refused", e.error, 1);
    return;
  }
  lastTs_[c] = ts;
  RecordRef ref;
  uint32_t dropped = 0;
  if (!ring_.append(static_cast<uint8_t>(ch), payload_, static_cast<uint16_t>(e.len), ref, dropped)) {
    counters_.flashErrors++;
    if (obs_) obs_->problem("flash", "append failed: reading lost", 1);
    return;
  }
  if (dropped > 0) {
    counters_.droppedFull += dropped;
    uplink_.onRingDropped();
    if (obs_) obs_->problem("dropped", "ring full: the oldest readings erased", dropped);
  }
  if (obs_) obs_->stored(ch, tag, ts, takenMonoMs, held);
}

void Device::persistPump() {
  if (ctl_.runSTotal - persistedRunS_ >= 60 || (!ctl_.run && ctl_.runSTotal != persistedRunS_)) {
    if (nvs_.setU32("run_s", static_cast<uint32_t>(ctl_.runSTotal))) persistedRunS_ = ctl_.runSTotal;
  }
  const uint32_t now[3] = {ctl_.dryRetriesToday, ctl_.day < 0 ? 0xFFFFFFFF : static_cast<uint32_t>(ctl_.day), ctl_.latched ? 1u : 0u};
  static const char* const keys[3] = {"dry_n", "dry_day", "dry_latch"};
  for (int i = 0; i < 3; i++) {
    if (now[i] != persistedDry_[i] && nvs_.setU32(keys[i], now[i])) persistedDry_[i] = now[i];
  }
}

size_t Device::statusPayload(bool online, int64_t monoMs, char* out, size_t cap) {
  if (!clock_.synced()) return 0;  // the status needs a ts: no connection before the first sync
  return encodeStatus(online, clock_.epochAt(monoMs), boot_, cfg_.fw, out, cap).len;
}

const char* Device::topicFor(uint8_t channel) { return topics_[channel < 5 ? channel : 0]; }

void Device::onLink(const char* what, int64_t monoMs, int64_t detailMs) {
  if (obs_) obs_->link(what, monoMs, detailMs);
}

void Device::onDelivered(const RecordRef& ref, uint8_t channel) {
  if (obs_) obs_->delivered(static_cast<Channel>(channel), ref.id);
}

void Device::onCommand(const char* payload, size_t len, int64_t monoMs) {
  ParsedCommand p = parseCommand(payload, len);
  Ack ack;
  if (!p.ok) {
    ack.ok = false;
    snprintf(ack.error, sizeof ack.error, "%s", p.error);
  } else if (const Ack* seen = recent_.find(p.cmd.id, p.cmd.idLen)) {
    ack = *seen;  // a redelivery: answered again, not run twice
  } else {
    ack = run(p.cmd, monoMs);
    recent_.remember(p.cmd.id, p.cmd.idLen, ack);
    if (ack.ok && p.cmd.name == CommandName::Reboot) {
      rebootPending_ = true;
      rebootAskedMs_ = monoMs;
    }
  }
  char out[512];
  EncodeResult e = encodeAck(p.cmd.id, p.cmd.idLen, ack.ok, ack.error, out, sizeof out);
  int mid = e.len > 0 ? uplink_.sendNow(topics_[static_cast<int>(Channel::CmdAck)], out, e.len) : 0;
  if (rebootPending_ && rebootMid_ == 0) rebootMid_ = mid;
  if (obs_) obs_->command(&p.cmd, ack.ok, ack.ok ? nullptr : ack.error);
}

static Ack refused(const char* fmt, const char* arg = "") {
  Ack a;
  a.ok = false;
  snprintf(a.error, sizeof a.error, fmt, arg);
  return a;
}

Ack Device::run(const Command& c, int64_t monoMs) {
  switch (c.name) {
    case CommandName::Start:
    case CommandName::Stop:
    case CommandName::Reset: {
      static const char* const verbs[] = {"start", "stop", "reset"};
      if (cfg_.kind != Kind::Pump) {
        if (c.name == CommandName::Reset) return Ack();
        char why[96];
        snprintf(why, sizeof why, "a %s device has no pump to %s", kindName(cfg_.kind), verbs[static_cast<int>(c.name)]);
        return refused("%s", why);
      }
      PumpEvents ev;
      const PumpCommand pc = c.name == CommandName::Start ? PumpCommand::Start : c.name == CommandName::Stop ? PumpCommand::Stop : PumpCommand::Reset;
      ctl_ = commandPump(ctl_, pc, monoMs, ev);
      if (drive_) drive_->drive(ctl_.run, ctl_.speedLimit);
      emitPumpEvents(ev, monoMs);
      reportNow_ = true;
      persistPump();
      return Ack();
    }
    case CommandName::SetInterval: {
      if (!c.hasSeconds || !validIntervalS(c.secondsIsNumber, c.seconds)) return refused("args.seconds must be an integer from 1 to 86400");
      if (c.hasIdleSeconds && !validIntervalS(c.idleSecondsIsNumber, c.idleSeconds)) return refused("args.idle_seconds is out of range");
      intervalS_ = static_cast<uint32_t>(c.seconds);
      nvs_.setU32("interval_s", intervalS_);
      if (c.hasIdleSeconds) {
        idleS_ = static_cast<uint32_t>(c.idleSeconds);
        nvs_.setU32("idle_s", idleS_);
      }
      return Ack();
    }
    case CommandName::Reboot:
      return Ack();
  }
  return refused("unknown command");
}

bool Device::wantsReboot(int64_t monoMs) const {
  return rebootPending_ && (uplink_.delivered(rebootMid_) || monoMs - rebootAskedMs_ >= 5000);
}

}  // namespace sy
