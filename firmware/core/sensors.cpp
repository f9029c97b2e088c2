#include "sensors.h"

#include <cmath>

namespace sy {

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

double vwcFromRaw(double raw) {
  const double vAir = 2.6, vSat = 1.05, thetaSat = 0.45, exponent = 0.7, adcFullV = 3.1;
  double v = raw / 4095 * adcFullV;
  if (v > 2.45) v = 2.45 + (v - 2.45) / 0.5;  // the ADC's compression above 2.45 V, undone
  double x = clampd((vAir - v) / (vAir - vSat), 0, 1.2);
  return clampd(100 * thetaSat * std::pow(x, 1 / exponent), 0, 100);
}

double levelFromPings(const double ping_cm[5], const BankGeometry& g) {
  double ok[5];
  int n = 0;
  for (int i = 0; i < 5; i++) {
    double d = ping_cm[i];
    if (std::isfinite(d) && d >= 0 && d <= g.max_range_cm) ok[n++] = d;
  }
  if (n < 3) return NAN;
  for (int i = 1; i < n; i++) {  // insertion sort of at most five
    double x = ok[i];
    int j = i - 1;
    for (; j >= 0 && ok[j] > x; j--) ok[j + 1] = ok[j];
    ok[j + 1] = x;
  }
  return clampd(std::round((g.sensor_cm - ok[n / 2]) * 10) / 10, 0, g.sensor_cm);
}

double pressureFromMa(double mA, double fullScaleBar) {
  if (!std::isfinite(mA) || mA < 3.6) return NAN;
  return clampd((mA - 4) / 16 * fullScaleBar, 0, fullScaleBar);
}

double flowFromPulses(uint32_t pulses, int64_t dtMs, double pulsesPerL) {
  if (dtMs <= 0 || pulsesPerL <= 0) return NAN;
  return static_cast<double>(pulses) / pulsesPerL / (static_cast<double>(dtMs) / 60000.0);
}

double ds18b20(double c) {
  if (!std::isfinite(c) || c <= -127 || c == 85.0) return NAN;
  return c;
}

}  // namespace sy
