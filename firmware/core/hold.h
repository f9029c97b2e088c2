// Readings taken before the clock is synced. They are held here, in RAM, with the monotonic time
// they were taken; when SNTP answers, each gets ts = sync epoch - (sync mono - taken mono), the
// time it was really taken, and goes to the flash ring in order. So no reading is ever stamped
// with a clock that was not synced (Tasmota's 1970 readings), and none taken in the first
// seconds after a boot is thrown away. RAM, not flash: a monotonic stamp means nothing after a
// reboot, so what is held when power fails before the first sync is lost (at most kSlots). The
// oldest is dropped, and counted, when the clock stays unsynced longer than kSlots readings.
#pragma once
#include <cstdint>
#include <cstring>

#include "ring.h"

namespace sy {

class PreSyncHold {
 public:
  static constexpr uint32_t kSlots = 24;
  static constexpr uint32_t kMaxBody = kMaxRecord - 24;  // room for {"ts":<13 digits>,

  struct Item {
    uint8_t channel;
    uint32_t tag;  // seq for telemetry, for the logs
    int64_t monoMs;
    uint16_t len;
    char body[kMaxBody];
  };

  // False when the body is too long (never, for the core's own encoders).
  bool push(uint8_t channel, uint32_t tag, int64_t monoMs, const char* body, uint16_t len) {
    if (len > kMaxBody) return false;
    if (n_ == kSlots) {
      first_ = (first_ + 1) % kSlots;
      n_--;
      dropped_++;
    }
    Item& it = items_[(first_ + n_) % kSlots];
    it.channel = channel;
    it.tag = tag;
    it.monoMs = monoMs;
    it.len = len;
    memcpy(it.body, body, len);
    n_++;
    return true;
  }
  const Item* front() const { return n_ == 0 ? nullptr : &items_[first_]; }
  void pop() {
    if (n_ == 0) return;
    first_ = (first_ + 1) % kSlots;
    n_--;
  }
  uint32_t size() const { return n_; }
  uint32_t dropped() const { return dropped_; }

 private:
  Item items_[kSlots];
  uint32_t first_ = 0, n_ = 0, dropped_ = 0;
};

}  // namespace sy
