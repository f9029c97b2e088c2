// The pump controller's own logic, as the simulator models it (firmware-sim/controller.ts,
// firmware-sim/FAULTS.md): start threshold and weak-sun retries, tank-full stop by float switch,
// dry-run self-protection with back-off and a daily latch, thermal derate and trip, a heatsink
// sensor fault, and the operator commands stop/start/reset. Pure: (state, inputs, dt, now) ->
// state and events; the device feeds it measurements and drives the motor from its output.
#pragma once
#include <cstddef>
#include <cstdint>

#include "contract.h"

namespace sy {

struct PumpSpec {
  double nMaxRpm = 3600;
  double pStartW = 90;   // PV power needed to start
  double pHoldW = 60;    // below this a running pump gives up
  int64_t restartMs = 90000;
  int dryBackoffMin[3] = {15, 30, 60};  // then 60 for every further retry
  uint32_t maxDryRetriesDay = 8;         // the 8th trip of a day latches until `reset`
  double dryDetectS = 45;                // full speed with no flow this long: dry
  double dryFlowLpm = 1;                 // "no flow" below this
  double tripC = 85;
  double resumeC = 70;
  double derateStartC = 75;  // speed -2 %/C above, not below half speed
  double darkVocV = 20;      // below: night, the drive has no power
};

struct PumpInputs {
  double availableW = 0;  // what the PV array could give now (the drive's MPPT estimate)
  double vocV = 0;        // PV voltage: open-circuit while the motor is off
  double rpm = 0;
  double flowLpm = 0;
  double ctrlTempC = 0;   // NaN: the heatsink sensor gave nothing
  bool tankFull = false;  // float switch open
  int32_t day = -1;       // local day number, -1 before the clock is synced
};

struct PumpCtl {
  PumpState mode = PumpState::Idle;
  Fault fault = Fault::None;
  bool latched = false;      // a fault only `reset` clears
  int64_t faultUntilMs = 0;  // when a dry-run back-off is over
  int64_t retryAtMs = 0;
  double underloadS = 0;
  uint32_t dryRetriesToday = 0;
  bool stoppedByCmd = false;
  int32_t day = -1;
  double volumeLToday = 0;
  double runSTotal = 0;
  // Output to the drive.
  bool run = false;
  double speedLimit = 1;  // 0.5..1, the thermal derate
};

struct PumpEvent {
  enum Type : uint8_t { State, FaultRaised, FaultCleared } type = State;
  Fault fault = Fault::None;
  char detail[96] = {};
};

struct PumpEvents {
  static constexpr size_t kMax = 8;
  PumpEvent e[kMax];
  size_t n = 0;
  PumpEvent* push(PumpEvent::Type t, Fault f);
};

enum class PumpCommand : uint8_t { Start, Stop, Reset };

// True when the heatsink reading is no reading: absent, or at a rail of its range (open or
// shorted thermistor reads -20 or 125 C, the simulator's out_of_range_sensor).
bool tempSensorBad(double c);

PumpCtl stepPump(const PumpSpec& spec, const PumpCtl& prev, const PumpInputs& in, double dtS, int64_t nowMs, PumpEvents& ev);
PumpCtl commandPump(const PumpCtl& prev, PumpCommand cmd, int64_t nowMs, PumpEvents& ev);

}  // namespace sy
