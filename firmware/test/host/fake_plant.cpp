#include "fake_plant.h"

#include <cmath>
#include <fstream>

void FakePlant::set(const std::string& fault, bool on) {
  if (on) faults_.insert(fault);
  else faults_.erase(fault);
}

void FakePlant::reloadFaults() {
  if (faultsFile_.empty()) return;
  std::ifstream in(faultsFile_);
  if (!in) return;  // no file: no change
  std::set<std::string> next;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) next.insert(line);
  }
  faults_ = next;
}

double FakePlant::sunAt(int64_t monoMs) const {
  if (fixedSun_ >= 0) return fixedSun_;
  const double local = static_cast<double>(clock_.trueEpochAt(monoMs) + 7 * 3600000LL);
  const double hour = std::fmod(local / 3600000.0, 24.0);
  return hour > 6 && hour < 18 ? 1000 * std::sin(M_PI * (hour - 6) / 12) : 0;
}

double FakePlant::probe(int64_t monoMs, int64_t period) const {
  const int64_t trueS = static_cast<int64_t>(std::llround(static_cast<double>(clock_.trueEpochAt(monoMs)) / 1000.0));
  return static_cast<double>(trueS % period) / 1000.0;
}

bool FakePlant::readPump(int64_t monoMs, sy::PumpSensors& o) {
  const double dtS = lastMs_ < 0 ? 0 : static_cast<double>(monoMs - lastMs_) / 1000.0;
  lastMs_ = monoMs;
  const double sun = sunAt(monoMs);
  const bool dry = has("dry_run");
  o.irradiance_wm2 = sun;
  o.available_w = 600 * sun / 1000 * 0.85;
  o.voc_v = sun > 5 ? 82 : 0;
  const double speed = run_ ? std::fmin(limit_, std::pow(std::fmin(1.0, o.available_w / 480), 0.4)) : 0;
  o.motor_rpm = std::round(3600 * speed);
  const double shaftW = 470 * std::pow(speed, 2.5) * (dry ? 0.35 : 1);
  o.pv_w = run_ ? std::fmin(o.available_w, shaftW / 0.85) : 0;
  o.pv_v = run_ ? 64.5 : o.voc_v;
  o.pv_a = o.pv_v > 1 ? o.pv_w / o.pv_v : 0;
  o.motor_a = o.pv_w / 48;
  // Below about half speed the pump does not lift the column: no flow.
  o.flow_lpm = run_ && !dry && speed > 0.55 ? 45 * (speed - 0.55) / 0.45 : 0;
  o.pressure_bar = o.flow_lpm > 0 ? 1.2 + 0.4 * speed : 0;
  // The heatsink follows the sun and the load with an 8-minute time constant.
  const double target = 30 + sun * 0.015 + o.pv_w * 0.02 + (has("overheat") ? 45 : 0);
  tempC_ += (target - tempC_) * (1 - std::exp(-dtS / 480));
  o.ctrl_temp_c = sy::ds18b20(has("temp_sensor_dead") ? -127 : std::round(tempC_ * 16) / 16);
  o.float_open = has("tank_full");
  if (timeProbe_) o.pressure_bar = probe(monoMs, 10000);
  return true;
}

bool FakePlant::readSoil(int64_t monoMs, sy::SoilSensors& o) {
  const double h = static_cast<double>(monoMs) / 3600000.0;
  o.raw_adc = std::round(2300 + 200 * std::sin(h / 6));
  o.soil_temp_c = 27.5;
  o.battery_v = timeProbe_ ? probe(monoMs, 5000) : 3.91;
  return true;
}

bool FakePlant::readBank(int64_t monoMs, sy::BankSensors& o) {
  const double level = 120 + 40 * std::sin(static_cast<double>(monoMs) / 3600000.0 / 4);
  for (int i = 0; i < 5; i++) o.ping_cm[i] = has("no_echo") ? NAN : 232 - level + (i - 2) * 0.3;
  o.battery_v = timeProbe_ ? probe(monoMs, 5000) : 4.02;
  return true;
}
