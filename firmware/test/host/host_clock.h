// Time for the host device. Device (monotonic) time runs `speed` times faster than real time
// from the process start, as esp_timer starts at 0 on every boot. The true wall clock, which the
// "SNTP server" answers with, is epochAtOrigin + speed x (real now - originRealMs): give every
// run of one device the same origin and its true time goes on across kills and restarts.
#pragma once
#include <time.h>

#include <cstdint>

class HostClock {
 public:
  HostClock(double speed, int64_t epochAtOriginMs, int64_t originRealMs)
      : speed_(speed), epochAtOrigin_(epochAtOriginMs), originReal_(originRealMs), start_(realMonoMs()) {}
  int64_t monoMs() const { return static_cast<int64_t>((realMonoMs() - start_) * speed_); }
  int64_t trueEpochMs() const { return epochAtOrigin_ + static_cast<int64_t>((realWallMs() - originReal_) * speed_); }
  // The true time at which device time was `monoMs` (for the logs: what the core should have stamped).
  int64_t trueEpochAt(int64_t monoMs) const { return trueEpochMs() - (monoMs_now() - monoMs); }
  double speed() const { return speed_; }
  static double realMonoMs() {
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<double>(t.tv_sec) * 1000.0 + static_cast<double>(t.tv_nsec) / 1e6;
  }
  static double realWallMs() {
    timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return static_cast<double>(t.tv_sec) * 1000.0 + static_cast<double>(t.tv_nsec) / 1e6;
  }

 private:
  int64_t monoMs_now() const { return monoMs(); }
  double speed_;
  int64_t epochAtOrigin_, originReal_;
  double start_;
};
