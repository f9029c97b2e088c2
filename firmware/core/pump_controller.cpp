#include "pump_controller.h"

#include <cmath>
#include <cstdio>

namespace sy {

PumpEvent* PumpEvents::push(PumpEvent::Type t, Fault f) {
  if (n >= kMax) return nullptr;
  PumpEvent* p = &e[n++];
  p->type = t;
  p->fault = f;
  p->detail[0] = '\0';
  return p;
}

bool tempSensorBad(double c) { return !std::isfinite(c) || c >= 125 || c <= -20; }

namespace {

// The step's working copy and its event list, with the simulator's helpers (setMode, raise,
// clearFault) and its wording of the details.
struct Step {
  PumpCtl& st;
  PumpEvents& ev;
  int64_t now;

  void setMode(PumpState m, const char* why) {
    if (st.mode == m) return;
    if (PumpEvent* e = ev.push(PumpEvent::State, Fault::None)) {
      if (why) snprintf(e->detail, sizeof e->detail, "%s -> %s: %s", pumpStateName(st.mode), pumpStateName(m), why);
      else snprintf(e->detail, sizeof e->detail, "%s -> %s", pumpStateName(st.mode), pumpStateName(m));
    }
    st.mode = m;
  }
  void raise(Fault f, bool latched, int64_t untilMs, const char* detail) {
    st.fault = f;
    st.latched = latched;
    st.faultUntilMs = untilMs;
    if (PumpEvent* e = ev.push(PumpEvent::FaultRaised, f)) snprintf(e->detail, sizeof e->detail, "%s", detail);
    setMode(PumpState::Fault, faultName(f));
  }
  void clearFault(const char* detail) {
    if (PumpEvent* e = ev.push(PumpEvent::FaultCleared, st.fault)) snprintf(e->detail, sizeof e->detail, "%s", detail);
    st.fault = Fault::None;
    st.latched = false;
    st.faultUntilMs = 0;
    st.retryAtMs = now;
    setMode(PumpState::WeakSun, "retry after fault");
  }
  void stopMotor() {
    st.run = false;
    st.speedLimit = 1;
  }
};

}  // namespace

PumpCtl stepPump(const PumpSpec& spec, const PumpCtl& prev, const PumpInputs& in, double dtS, int64_t nowMs, PumpEvents& ev) {
  PumpCtl st = prev;
  Step s{st, ev, nowMs};
  if (in.day >= 0 && in.day != st.day) {
    // A new local day: the day's counters start again (not at the first sync after a boot,
    // when the counters restored from NVS belong to this very day).
    if (st.day >= 0) {
      st.volumeLToday = 0;
      st.dryRetriesToday = 0;
    }
    st.day = in.day;
  }
  const bool tempBad = tempSensorBad(in.ctrlTempC);
  // Active faults first: the pump does not run while one lasts.
  if (st.fault != Fault::None && !st.stoppedByCmd) {
    if (st.fault == Fault::SensorFault && !tempBad) s.clearFault("sensor reads in range again");
    else if (st.fault == Fault::Overtemp && !tempBad && in.ctrlTempC < spec.resumeC) s.clearFault("cooled down");
    else if (st.fault == Fault::DryRun && !st.latched && nowMs >= st.faultUntilMs) s.clearFault("dry-run back-off over");
  }
  if (!st.stoppedByCmd && st.fault == Fault::None && tempBad) {
    s.raise(Fault::SensorFault, false, 0, "heatsink temperature sensor out of range");
  }

  bool run = false;
  double limit = 1;
  if (st.stoppedByCmd) {
    s.setMode(PumpState::Off, "stop command");
  } else if (st.fault != Fault::None) {
    s.setMode(PumpState::Fault, faultName(st.fault));
  } else if (in.vocV < spec.darkVocV) {
    // Dark: the drive has no power; a full tank does not matter until morning.
    s.setMode(PumpState::Idle, "no PV voltage");
    st.retryAtMs = nowMs;
  } else if (in.tankFull) {
    s.setMode(PumpState::TankFull, "float switch open");
    st.retryAtMs = nowMs + spec.restartMs;
  } else {
    const bool running = st.mode == PumpState::Running;
    const bool canStart = in.availableW >= spec.pStartW && nowMs >= st.retryAtMs;
    if ((running && in.availableW >= spec.pHoldW) || (!running && canStart)) {
      if (in.ctrlTempC > spec.derateStartC) {
        limit = 1 - 0.02 * (in.ctrlTempC - spec.derateStartC);
        if (limit < 0.5) limit = 0.5;
      }
      run = true;
      s.setMode(PumpState::Running, running ? nullptr : "start");
    } else {
      if (running || nowMs >= st.retryAtMs) st.retryAtMs = nowMs + spec.restartMs;
      s.setMode(PumpState::WeakSun, running ? "PV power below hold" : nullptr);
    }
  }
  st.run = run;
  st.speedLimit = limit;

  if (run) {
    st.runSTotal += dtS;
    st.volumeLToday += in.flowLpm * dtS / 60;
    // Full speed and no water: the pump has lost its prime or the well is drawn down (§5).
    const bool dry = in.rpm >= 0.9 * spec.nMaxRpm && in.flowLpm < spec.dryFlowLpm;
    st.underloadS = dry ? st.underloadS + dtS : 0;
    if (st.underloadS >= spec.dryDetectS) {
      st.underloadS = 0;
      st.dryRetriesToday++;
      uint32_t i = st.dryRetriesToday < 3 ? st.dryRetriesToday : 3;
      int backoffMin = spec.dryBackoffMin[i - 1];
      bool latched = st.dryRetriesToday >= spec.maxDryRetriesDay;
      char detail[64];
      if (latched) snprintf(detail, sizeof detail, "dry run: retries exhausted, reset needed");
      else snprintf(detail, sizeof detail, "dry run: retry in %d min", backoffMin);
      s.raise(Fault::DryRun, latched, latched ? 0 : nowMs + static_cast<int64_t>(backoffMin) * 60000, detail);
      s.stopMotor();
    } else if (in.ctrlTempC >= spec.tripC) {
      char detail[64];
      snprintf(detail, sizeof detail, "heatsink %.1f C", in.ctrlTempC);
      s.raise(Fault::Overtemp, false, 0, detail);
      s.stopMotor();
    }
  } else {
    st.underloadS = 0;
  }
  return st;
}

PumpCtl commandPump(const PumpCtl& prev, PumpCommand cmd, int64_t nowMs, PumpEvents& ev) {
  PumpCtl st = prev;
  Step s{st, ev, nowMs};
  if (cmd == PumpCommand::Stop) {
    st.stoppedByCmd = true;
    s.setMode(PumpState::Off, "stop command");
    s.stopMotor();
    return st;
  }
  st.stoppedByCmd = false;
  if (cmd == PumpCommand::Reset && st.fault != Fault::None) {
    if (PumpEvent* e = ev.push(PumpEvent::FaultCleared, st.fault)) snprintf(e->detail, sizeof e->detail, "reset command");
    st.fault = Fault::None;
    st.latched = false;
    st.faultUntilMs = 0;
    st.dryRetriesToday = 0;
  }
  if (st.fault == Fault::None && (st.mode == PumpState::Off || st.mode == PumpState::Fault)) {
    s.setMode(PumpState::WeakSun, cmd == PumpCommand::Start ? "start command" : "reset command");
  }
  st.retryAtMs = nowMs;
  return st;
}

}  // namespace sy
