// The offline buffer: a ring of fixed-size slots in a NOR flash partition. Every reading is
// written here before it is sent, and marked acknowledged only after its PUBACK, so a reading
// survives a dropped link, a reboot and a power cut at any instant (issue 19).
//
// Slot layout (little-endian), kSlotBytes each, kSlotBytes dividing the sector size:
//   0  u8  state   0xFF erased | 0xFC committed | 0xF0 acknowledged | 0x00 dead
//   1  u8  channel
//   2  u16 length of the payload
//   4  u32 id      +1 per record, never reused: the order across a wrapped ring
//   8  u32 crc32   of bytes 1..7, 12..15 and the payload
//   12 u32 magic   "SYR1"
//   16 payload
// Append: bytes 1.. in one write with state still 0xFF, then state := committed (one byte). A cut
// before the second write leaves a slot that is neither erased nor committed: it is skipped
// (marked dead) and never sent. Acknowledge: state := acknowledged, a one-bit change. Each state
// only clears bits of the one before, as NOR flash requires. A sector is erased when the write
// position enters it; if it still holds unacknowledged readings (the ring is full) those, the
// oldest, are dropped and counted, as the simulator's buffer does.
#pragma once
#include <cstddef>
#include <cstdint>

#include "flash.h"

namespace sy {

constexpr uint32_t kSlotBytes = 512;
constexpr uint32_t kSlotHeader = 16;
constexpr uint32_t kMaxRecord = kSlotBytes - kSlotHeader;

uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);

struct RecordRef {
  uint32_t slot = 0;
  uint32_t id = 0;
};

class Ring {
 public:
  explicit Ring(Flash& flash) : f_(flash) {}
  // Scans the partition; false when its geometry cannot hold a ring (fewer than 2 sectors).
  bool mount();
  // Appends a committed record. `dropped` counts the oldest unacknowledged records erased to
  // make room. False only on a flash error (the reading is then lost, and counted by the caller).
  bool append(uint8_t channel, const char* payload, uint16_t len, RecordRef& ref, uint32_t& dropped);
  // The oldest unacknowledged record at or after `from` (walking forward, stopping at the write
  // position): its ref and payload (out must hold kMaxRecord bytes). False when there is none.
  bool nextAt(uint32_t from, RecordRef& ref, uint8_t& channel, char* out, uint16_t& len);
  // Marks a record acknowledged; false when the slot no longer holds it (erased for room).
  bool ack(const RecordRef& ref);
  // True when the slot still holds this record, unacknowledged.
  bool holds(const RecordRef& ref);
  // Slot of the oldest unacknowledged record (== writeSlot() when none).
  uint32_t headSlot() const { return head_; }
  uint32_t writeSlot() const { return tail_; }
  uint32_t slots() const { return slots_; }
  uint32_t unacked() const { return unacked_; }
  // Records the ring holds at most when it is full (one sector is always being reused).
  uint32_t capacity() const { return slots_ - perSector_; }
  uint32_t next(uint32_t slot) const { return slot + 1 == slots_ ? 0 : slot + 1; }
  // Torn slots found at mount (a cut between the two writes of an append).
  uint32_t tornAtMount() const { return torn_; }

 private:
  enum State : uint8_t { Erased = 0xFF, Committed = 0xFC, Acked = 0xF0, Dead = 0x00 };
  struct Header {
    uint8_t state;
    uint8_t channel;
    uint16_t len;
    uint32_t id;
    uint32_t crc;
    uint32_t magic;
  };
  bool readHeader(uint32_t slot, Header& h);
  bool valid(uint32_t slot, const Header& h, char* payload);
  bool erased(uint32_t slot);
  void advanceHead();
  bool enterSector(uint32_t slot, uint32_t& dropped);
  bool sectorErased(uint32_t sector);
  bool moveTail(uint32_t& dropped);
  uint32_t addr(uint32_t slot) const { return slot * kSlotBytes; }
  Flash& f_;
  uint32_t slots_ = 0;
  uint32_t perSector_ = 0;
  uint32_t head_ = 0;
  uint32_t tail_ = 0;
  uint32_t nextId_ = 1;
  uint32_t unacked_ = 0;
  uint32_t torn_ = 0;
  char scratch_[kSlotBytes];
};

}  // namespace sy
