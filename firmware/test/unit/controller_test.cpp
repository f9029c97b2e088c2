#include <string>
#include <vector>

#include "check.h"
#include "pump_controller.h"

using namespace sy;

namespace {

// A pump in full sun: flows unless `dry`; full speed when it runs.
struct Bench {
  PumpSpec spec;
  PumpCtl st;
  int64_t now = 0;
  bool dry = false;
  double tempC = 40;
  double availableW = 500;
  bool tankFull = false;
  int32_t day = 100;
  std::vector<PumpEvent> events;
  std::vector<int64_t> eventMs;

  void run(double seconds) {
    for (int i = 0; i < static_cast<int>(seconds); i++) {
      PumpInputs in;
      in.availableW = availableW;
      in.vocV = availableW > 0 ? 80 : 0;
      in.rpm = st.run ? 3600 * st.speedLimit : 0;
      in.flowLpm = st.run && !dry ? 40 : 0;
      in.ctrlTempC = tempC;
      in.tankFull = tankFull;
      in.day = day;
      PumpEvents ev;
      st = stepPump(spec, st, in, 1, now, ev);
      for (size_t k = 0; k < ev.n; k++) {
        events.push_back(ev.e[k]);
        eventMs.push_back(now);
      }
      now += 1000;
    }
  }
  void cmd(PumpCommand c) {
    PumpEvents ev;
    st = commandPump(st, c, now, ev);
    for (size_t k = 0; k < ev.n; k++) {
      events.push_back(ev.e[k]);
      eventMs.push_back(now);
    }
  }
  std::vector<int64_t> timesOf(PumpEvent::Type t) const {
    std::vector<int64_t> out;
    for (size_t i = 0; i < events.size(); i++) if (events[i].type == t) out.push_back(eventMs[i]);
    return out;
  }
};

}  // namespace

TEST(pump_starts_in_sun_and_stops_in_weak_sun_and_at_night) {
  Bench b;
  b.run(2);
  CHECK(b.st.mode == PumpState::Running && b.st.run);
  CHECK_EQ(std::string(b.events.at(0).detail), std::string("idle -> running: start"));
  b.availableW = 50;  // below the 60 W hold
  b.run(1);
  CHECK(b.st.mode == PumpState::WeakSun && !b.st.run);
  b.availableW = 100;  // enough to start, but the 90 s restart delay first
  b.run(89);
  CHECK(b.st.mode == PumpState::WeakSun);
  b.run(2);
  CHECK(b.st.mode == PumpState::Running);
  b.availableW = 0;
  b.run(1);
  CHECK(b.st.mode == PumpState::Idle && !b.st.run);
  b.availableW = 500;
  b.tankFull = true;
  b.run(1);
  CHECK(b.st.mode == PumpState::TankFull && !b.st.run);
}

TEST(pump_dry_run_trips_after_45_s_retries_after_15_30_60_min_and_latches_on_the_8th) {
  Bench b;
  b.dry = true;
  b.run(45);
  CHECK(b.st.mode == PumpState::Running);  // 44 s of no flow at full speed so far
  b.run(1);
  CHECK(b.st.mode == PumpState::Fault && b.st.fault == Fault::DryRun && !b.st.run);
  std::vector<int64_t> trips = b.timesOf(PumpEvent::FaultRaised);
  CHECK_EQ(trips.size(), size_t(1));
  CHECK_EQ(std::string(b.events.back().detail), std::string("running -> fault: DRY_RUN"));
  b.run(7 * 3600);  // far longer than the whole back-off sequence
  trips = b.timesOf(PumpEvent::FaultRaised);
  std::vector<int64_t> clears = b.timesOf(PumpEvent::FaultCleared);
  CHECK_EQ(trips.size(), size_t(8));
  CHECK_EQ(clears.size(), size_t(7));
  const int64_t waits[] = {15, 30, 60, 60, 60, 60, 60};
  for (size_t i = 0; i < 7 && i < clears.size(); i++) {
    CHECK_EQ(clears[i] - trips[i], waits[i] * 60000);
    CHECK_EQ(trips[i + 1] - clears[i], int64_t(45000));  // it restarts at once: 45 s of no flow
  }
  CHECK(b.st.latched && b.st.fault == Fault::DryRun && b.st.mode == PumpState::Fault);
  CHECK_EQ(b.st.dryRetriesToday, uint32_t(8));
  size_t n = b.events.size();
  b.cmd(PumpCommand::Start);  // start does not lift a latch
  b.run(3600);
  CHECK(b.st.mode == PumpState::Fault);
  CHECK_EQ(b.events.size(), n);
  b.dry = false;
  b.cmd(PumpCommand::Reset);
  CHECK(b.st.fault == Fault::None && !b.st.latched && b.st.dryRetriesToday == 0);
  CHECK_EQ(std::string(b.events.at(n).detail), std::string("reset command"));
  b.run(2);
  CHECK(b.st.mode == PumpState::Running);
}

TEST(pump_dry_run_count_starts_again_at_local_midnight) {
  Bench b;
  b.dry = true;
  b.run(3 * 3600);  // trips at 0:45, 16:30, 47:15, 1:48, 2:49
  CHECK_EQ(b.st.dryRetriesToday, uint32_t(5));
  b.day = 101;
  b.run(1);
  CHECK_EQ(b.st.dryRetriesToday, uint32_t(0));
  CHECK(b.st.fault == Fault::DryRun);  // the fault itself waits for its back-off
}

TEST(pump_derates_2_percent_per_degree_above_75_trips_at_85_resumes_below_70) {
  Bench b;
  b.tempC = 80;
  b.run(2);
  CHECK(b.st.run);
  CHECK_NEAR(b.st.speedLimit, 0.9, 1e-9);
  b.tempC = 100;  // never below half speed; trips, though
  b.run(1);
  CHECK(b.st.mode == PumpState::Fault && b.st.fault == Fault::Overtemp);
  CHECK_EQ(std::string(b.events.at(b.events.size() - 2).detail), std::string("heatsink 100.0 C"));
  b.tempC = 84.9;
  b.st = PumpCtl();
  b.run(2);
  CHECK_NEAR(b.st.speedLimit, 1 - 0.02 * 9.9, 1e-9);
  b.tempC = 85;
  b.run(1);
  CHECK(b.st.fault == Fault::Overtemp && !b.st.run);
  b.tempC = 70;
  b.run(60);
  CHECK(b.st.fault == Fault::Overtemp);
  b.tempC = 69.9;
  b.run(2);
  CHECK(b.st.fault == Fault::None && b.st.mode == PumpState::Running);
}

TEST(pump_stops_on_a_heatsink_sensor_that_reads_nothing_and_restarts_by_itself) {
  Bench b;
  b.run(2);
  b.tempC = NAN;
  b.run(1);
  CHECK(b.st.fault == Fault::SensorFault && !b.st.run);
  b.tempC = 125;  // the rail: open thermistor
  b.run(5);
  CHECK(b.st.fault == Fault::SensorFault);
  b.tempC = 50;
  b.run(2);
  CHECK(b.st.fault == Fault::None && b.st.mode == PumpState::Running);
}

TEST(pump_stop_and_start_commands) {
  Bench b;
  b.run(2);
  b.cmd(PumpCommand::Stop);
  CHECK(b.st.mode == PumpState::Off && !b.st.run);
  b.run(600);
  CHECK(b.st.mode == PumpState::Off);
  b.cmd(PumpCommand::Start);
  CHECK(b.st.mode == PumpState::WeakSun);
  b.run(1);
  CHECK(b.st.mode == PumpState::Running);
}
