#include "ring.h"

#include <cstring>

namespace sy {

static constexpr uint32_t kMagic = 0x31525953;  // "SYR1"

uint32_t crc32(const void* data, size_t n, uint32_t crc) {
  // CRC-32/ISO-HDLC (zlib's), a nibble at a time: a 64-byte table instead of 1 KiB.
  static const uint32_t t[16] = {0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC, 0x76DC4190, 0x6B6B51F4,
                                 0x4DB26158, 0x5005713C, 0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C,
                                 0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C};
  const unsigned char* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < n; i++) {
    crc = t[(crc ^ p[i]) & 0x0F] ^ (crc >> 4);
    crc = t[(crc ^ (p[i] >> 4)) & 0x0F] ^ (crc >> 4);
  }
  return ~crc;
}

// The CRC covers everything but the state byte (which changes) and the CRC itself.
static uint32_t recordCrc(uint8_t channel, uint16_t len, uint32_t id, const char* payload) {
  unsigned char head[11];
  head[0] = channel;
  memcpy(head + 1, &len, 2);
  memcpy(head + 3, &id, 4);
  memcpy(head + 7, &kMagic, 4);
  return crc32(payload, len, crc32(head, sizeof head));
}

// Wrap-safe "a is after b" for record ids.
static bool after(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }

// A cut while the one state byte is programmed may leave some of its bits cleared: read it as
// the state it was written from or to. Both are safe: a half-committed record has its whole body
// (its CRC says so), a half-acknowledged one is at worst sent once more.
static uint8_t normalState(uint8_t raw) {
  if (raw == 0xFF) return 0xFF;
  if ((raw | 0x03) == 0xFF) return 0xFC;  // committed, or on its way to it
  if ((raw | 0x0C) == 0xFC) return 0xF0;  // acknowledged, or on its way to it
  return 0x00;
}

bool Ring::readHeader(uint32_t slot, Header& h) {
  unsigned char b[kSlotHeader];
  if (!f_.read(addr(slot), b, sizeof b)) return false;
  h.state = normalState(b[0]);
  h.channel = b[1];
  memcpy(&h.len, b + 2, 2);
  memcpy(&h.id, b + 4, 4);
  memcpy(&h.crc, b + 8, 4);
  memcpy(&h.magic, b + 12, 4);
  return true;
}

bool Ring::valid(uint32_t slot, const Header& h, char* payload) {
  if ((h.state != Committed && h.state != Acked) || h.magic != kMagic || h.len > kMaxRecord) return false;
  if (!f_.read(addr(slot) + kSlotHeader, payload, h.len)) return false;
  return recordCrc(h.channel, h.len, h.id, payload) == h.crc;
}

bool Ring::erased(uint32_t slot) {
  unsigned char b[64];
  for (uint32_t off = 0; off < kSlotBytes; off += sizeof b) {
    if (!f_.read(addr(slot) + off, b, sizeof b)) return false;
    for (unsigned char c : b) if (c != 0xFF) return false;
  }
  return true;
}

bool Ring::mount() {
  uint32_t sector = f_.sectorBytes();
  if (sector < kSlotBytes || sector % kSlotBytes != 0 || f_.sizeBytes() / sector < 2) return false;
  perSector_ = sector / kSlotBytes;
  slots_ = (f_.sizeBytes() / sector) * perSector_;
  // The newest valid record (committed or acknowledged) fixes the write position.
  bool any = false;
  uint32_t maxId = 0, maxSlot = 0;
  Header h;
  for (uint32_t s = 0; s < slots_; s++) {
    if (!readHeader(s, h) || !valid(s, h, scratch_)) continue;
    if (!any || after(h.id, maxId)) { maxId = h.id; maxSlot = s; any = true; }
  }
  tail_ = any ? next(maxSlot) : 0;
  nextId_ = any ? maxId + 1 : 1;
  // Walking forward from the write position visits records oldest first: the rest of the write
  // sector was erased on entry, then come the sectors of the previous lap, then this lap's.
  unacked_ = 0;
  torn_ = 0;
  head_ = tail_;
  bool headFound = false;
  uint32_t s = tail_;
  for (uint32_t i = 0; i < slots_; i++, s = next(s)) {
    if (!readHeader(s, h)) continue;
    if (h.state == Committed && valid(s, h, scratch_)) {
      unacked_++;
      if (!headFound) { head_ = s; headFound = true; }
    } else if (h.state != Acked && h.state != Dead && !(h.state == Erased && erased(s))) {
      torn_++;
    }
  }
  return true;
}

void Ring::advanceHead() {
  Header h;
  while (head_ != tail_) {
    if (readHeader(head_, h) && h.state == Committed && h.magic == kMagic) return;
    head_ = next(head_);
  }
}

bool Ring::enterSector(uint32_t slot, uint32_t& dropped) {
  uint32_t sector = slot / perSector_;
  Header h;
  uint32_t lost = 0;
  for (uint32_t s = sector * perSector_; s < (sector + 1) * perSector_; s++) {
    if (readHeader(s, h) && h.state == Committed && h.magic == kMagic) lost++;
  }
  if (!f_.eraseSector(sector)) return false;
  dropped += lost;
  unacked_ -= lost < unacked_ ? lost : unacked_;
  if (unacked_ == 0) head_ = tail_;
  else if (head_ / perSector_ == sector) {
    head_ = (sector + 1) * perSector_ % slots_;
    advanceHead();
  }
  return true;
}

bool Ring::sectorErased(uint32_t sector) {
  for (uint32_t s = sector * perSector_; s < (sector + 1) * perSector_; s++) {
    if (!erased(s)) return false;
  }
  return true;
}

bool Ring::append(uint8_t channel, const char* payload, uint16_t len, RecordRef& ref, uint32_t& dropped) {
  dropped = 0;
  if (len > kMaxRecord) return false;
  // The write position is always in an erased sector: it is erased as soon as the position
  // enters it (below), or here after a cut kept that from happening.
  if (tail_ % perSector_ == 0 && !sectorErased(tail_ / perSector_) && !enterSector(tail_, dropped)) return false;
  for (uint32_t tries = 0; tries < slots_ && !erased(tail_); tries++) {
    // A torn append from before a cut: never sent, never read again.
    const unsigned char dead = Dead;
    if (!f_.write(addr(tail_), &dead, 1)) return false;
    if (!moveTail(dropped)) return false;
  }
  const bool wasEmpty = unacked_ == 0;
  const uint32_t id = nextId_;
  unsigned char* b = reinterpret_cast<unsigned char*>(scratch_);
  uint32_t crc = recordCrc(channel, len, id, payload);
  b[0] = Erased;
  b[1] = channel;
  memcpy(b + 2, &len, 2);
  memcpy(b + 4, &id, 4);
  memcpy(b + 8, &crc, 4);
  memcpy(b + 12, &kMagic, 4);
  memcpy(b + kSlotHeader, payload, len);
  // First everything but the state, then the state: the commit point.
  if (!f_.write(addr(tail_) + 1, b + 1, kSlotHeader - 1 + len)) return false;
  const unsigned char committed = Committed;
  if (!f_.write(addr(tail_), &committed, 1)) return false;
  ref.slot = tail_;
  ref.id = id;
  nextId_++;
  unacked_++;
  if (wasEmpty) head_ = tail_;
  // The record is stored whatever the erase ahead does; a failed erase is redone next time.
  moveTail(dropped);
  return true;
}

bool Ring::moveTail(uint32_t& dropped) {
  tail_ = next(tail_);
  if (unacked_ == 0) head_ = tail_;
  // Entering a sector: erase it now, so that the write position never meets the oldest record
  // (a full ring and an empty one would look alike).
  return tail_ % perSector_ != 0 || enterSector(tail_, dropped);
}

bool Ring::nextAt(uint32_t from, RecordRef& ref, uint8_t& channel, char* out, uint16_t& len) {
  Header h;
  for (uint32_t s = from, i = 0; s != tail_ && i < slots_; s = next(s), i++) {
    if (!readHeader(s, h) || h.state != Committed || !valid(s, h, out)) continue;
    ref.slot = s;
    ref.id = h.id;
    channel = h.channel;
    len = h.len;
    return true;
  }
  return false;
}

bool Ring::holds(const RecordRef& ref) {
  Header h;
  return ref.slot < slots_ && readHeader(ref.slot, h) && h.state == Committed && h.magic == kMagic && h.id == ref.id;
}

bool Ring::ack(const RecordRef& ref) {
  if (!holds(ref)) return false;
  const unsigned char acked = Acked;
  if (!f_.write(addr(ref.slot), &acked, 1)) return false;
  if (unacked_ > 0) unacked_--;
  if (ref.slot == head_) advanceHead();
  return true;
}

}  // namespace sy
