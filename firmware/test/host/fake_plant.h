// Fake sensors and a fake pump for the host device: a small model of the demo pump (600 Wp,
// 48 V submersible) under a sun that follows the true local time, a water bank and a soil probe,
// with faults switched on and off through a file the test writes (one name per line):
//   dry_run            the well is drawn down: full speed, a third of the power, no flow
//   overheat           the heatsink runs 45 C hotter
//   tank_full          the float switch is open
//   temp_sensor_dead   the heatsink DS18B20 answers -127
//   no_echo            the ultrasonic sensor hears no echo
// With a time probe, one sensor reports the true time of its own reading, so that a test can
// check every stored timestamp without trusting what the core says about it: the pump's
// pressure_bar is (true seconds mod 10000) / 1000, a probe's or bank's battery_v is (true
// seconds mod 5000) / 1000.
#pragma once
#include <set>
#include <string>

#include "host_clock.h"
#include "sensors.h"

class FakePlant : public sy::Sensors, public sy::PumpDrive {
 public:
  FakePlant(const HostClock& clock, double sunWm2) : clock_(clock), fixedSun_(sunWm2) {}
  void setFaultsFile(const std::string& path) { faultsFile_ = path; }
  void setTimeProbe(bool on) { timeProbe_ = on; }
  void set(const std::string& fault, bool on);
  // Re-reads the faults file (cheap; call a few times a second).
  void reloadFaults();
  bool has(const char* fault) const { return faults_.count(fault) > 0; }

  bool readPump(int64_t monoMs, sy::PumpSensors& out) override;
  bool readSoil(int64_t monoMs, sy::SoilSensors& out) override;
  bool readBank(int64_t monoMs, sy::BankSensors& out) override;
  double rssiDbm() override { return -71; }
  void drive(bool run, double speedLimit) override {
    run_ = run;
    limit_ = speedLimit;
  }

 private:
  double sunAt(int64_t monoMs) const;
  // (true seconds at monoMs mod `period`) / 1000
  double probe(int64_t monoMs, int64_t period) const;
  const HostClock& clock_;
  double fixedSun_;  // < 0: follow the time of day
  std::string faultsFile_;
  std::set<std::string> faults_;
  bool timeProbe_ = false;
  bool run_ = false;
  double limit_ = 1;
  double tempC_ = 32;
  int64_t lastMs_ = -1;
};
