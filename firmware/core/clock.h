// Time on the device. Everything runs on a monotonic millisecond clock from boot (esp_timer on
// the ESP32); the wall clock exists only once SNTP has answered. There is no "unsynced epoch":
// before sync() no code can ask for one, so no reading can be stamped 1970 (issue 19).
#pragma once
#include <cstdint>

#include "contract.h"

namespace sy {

class SyncClock {
 public:
  // An SNTP answer (epoch ms) read at monotonic time monoMs. An answer outside the contract's
  // range is refused: a server that says 1970 is no better than none.
  bool sync(int64_t epochMs, int64_t monoMs) {
    if (epochMs < kMinTsMs || epochMs > kMaxTsMs) return false;
    offsetMs_ = epochMs - monoMs;
    synced_ = true;
    return true;
  }
  bool synced() const { return synced_; }
  // Only meaningful once synced().
  int64_t epochAt(int64_t monoMs) const { return monoMs + offsetMs_; }

 private:
  int64_t offsetMs_ = 0;
  bool synced_ = false;
};

// splitmix64: small, seedable, good enough for jitter. Seeded per device and boot, so a fleet
// that lost the same tower does not come back in one wave.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }

 private:
  uint64_t s_;
};

// FNV-1a, to seed an Rng from a device id.
inline uint64_t hashOf(const char* s, uint64_t h = 1469598103934665603ULL) {
  for (; *s; s++) h = (h ^ static_cast<unsigned char>(*s)) * 1099511628211ULL;
  return h;
}

// Reconnect delays: 1 s doubling to 60 s, each times a jitter of 0.5-1.5 (firmware-sim/FAULTS.md
// "Firmware behaviour", as the simulator's uplink does).
class Backoff {
 public:
  static constexpr int64_t kBaseMs = 1000;
  static constexpr int64_t kMaxMs = 60000;
  int64_t nextDelayMs(Rng& rng) {
    int64_t base = attempts_ >= 6 ? kMaxMs : kBaseMs << attempts_;
    if (base > kMaxMs) base = kMaxMs;
    if (attempts_ < 16) attempts_++;
    return static_cast<int64_t>(static_cast<double>(base) * (0.5 + rng.unit()));
  }
  void reset() { attempts_ = 0; }
  uint32_t attempts() const { return attempts_; }

 private:
  uint32_t attempts_ = 0;
};

}  // namespace sy
