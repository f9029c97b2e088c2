// What the device reads and drives, as plain values: the hardware layer (firmware/src/hw on the
// ESP32, fake sensors on the host) fills these in; the conversions from raw signals are pure
// functions here, shared by both.
#pragma once
#include <cmath>
#include <cstdint>

namespace sy {

struct PumpSensors {
  double pv_v = 0, pv_a = 0, pv_w = 0;  // INA226 on the PV input
  double voc_v = 0;                     // PV voltage with the motor off (dark detection)
  double available_w = 0;               // the drive's MPPT estimate of what the array could give
  double motor_a = 0, motor_rpm = 0;    // drive current and tachometer
  double flow_lpm = 0;                  // pulse flow meter (flowFromPulses)
  double pressure_bar = 0;              // 4-20 mA transducer (pressureFromMa)
  double ctrl_temp_c = 0;               // DS18B20 on the heatsink; NaN when it gave nothing
  double irradiance_wm2 = NAN;    // optional pyranometer; NaN when absent
  bool float_open = false;              // the water bank's float switch: full
};

struct SoilSensors {
  double raw_adc = 0;      // capacitive probe, 12-bit ADC at 11 dB
  double soil_temp_c = 0;  // DS18B20 in the probe
  double battery_v = 0;
};

struct BankSensors {
  double ping_cm[5];  // JSN-SR04T echoes; NaN for a ping with no echo
  double battery_v = NAN;
};

class Sensors {
 public:
  // Each returns false when the bus gave nothing at all (no reading is taken then).
  virtual bool readPump(int64_t monoMs, PumpSensors& out) { (void)monoMs; (void)out; return false; }
  virtual bool readSoil(int64_t monoMs, SoilSensors& out) { (void)monoMs; (void)out; return false; }
  virtual bool readBank(int64_t monoMs, BankSensors& out) { (void)monoMs; (void)out; return false; }
  virtual double rssiDbm() { return NAN; }

 protected:
  ~Sensors() = default;  // never deleted through the interface
};

// The pump drive: enable and a speed ceiling (the thermal derate); it does its own MPPT.
class PumpDrive {
 public:
  virtual void drive(bool run, double speedLimit) = 0;

 protected:
  ~PumpDrive() = default;
};

// Capacitive probe v1.2 (the simulator's CAPACITIVE_V12, firmware-sim/probe.ts): counts to volts
// through the ESP32 ADC's 11 dB curve, then the nominal calibration to % volumetric water.
double vwcFromRaw(double raw);
// Water level from five ultrasonic pings: the median of those with an echo inside the sensor's
// range, NaN when fewer than three have one (humid mornings: no reading, seq does not move).
struct BankGeometry {
  double sensor_cm = 232;  // transducer height above the bottom
  double usable_cm = 200;
  double area_m2 = 8;
  double blind_cm = 25;
  double max_range_cm = 450;
};
double levelFromPings(const double ping_cm[5], const BankGeometry& g);
// 4-20 mA over a shunt: bar for full scale at 20 mA; below 3.6 mA the loop is open (NaN).
double pressureFromMa(double mA, double fullScaleBar);
// Pulses counted over dtMs from a meter giving pulsesPerL.
double flowFromPulses(uint32_t pulses, int64_t dtMs, double pulsesPerL);
// DS18B20: 85.0 is its power-on value (no conversion done), -127 a sensor that does not answer.
double ds18b20(double c);

}  // namespace sy
