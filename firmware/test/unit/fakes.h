// In-memory flash (NOR semantics enforced), NVS and MQTT port for the unit tests.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "check.h"
#include "flash.h"
#include "uplink.h"

struct RamFlash : sy::Flash {
  std::vector<unsigned char> mem;
  uint32_t sector;
  // Crash injection: after `budget` bytes have been programmed or erased, everything stops; the
  // byte the budget ends in is left half programmed (some of its bits cleared), as a power cut
  // leaves a NOR cell.
  long budget = -1;
  bool crashed = false;
  bool setsBits = false;  // a write that would set a bit: a bug in the caller

  RamFlash(uint32_t sizeBytes, uint32_t sectorBytes) : mem(sizeBytes, 0xFF), sector(sectorBytes) {}
  uint32_t sizeBytes() const override { return static_cast<uint32_t>(mem.size()); }
  uint32_t sectorBytes() const override { return sector; }
  bool read(uint32_t addr, void* out, size_t n) override {
    if (crashed || addr + n > mem.size()) return false;
    std::memcpy(out, &mem[addr], n);
    return true;
  }
  bool spend() {
    if (budget < 0) return true;
    if (budget == 0) { crashed = true; return false; }
    budget--;
    return true;
  }
  bool write(uint32_t addr, const void* data, size_t n) override {
    if (crashed || addr + n > mem.size()) return false;
    const unsigned char* d = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; i++) {
      if ((d[i] & ~mem[addr + i]) != 0) setsBits = true;
      if (!spend()) {
        mem[addr + i] &= static_cast<unsigned char>(d[i] | 0xAA);  // half of the bits
        return false;
      }
      mem[addr + i] &= d[i];
    }
    return true;
  }
  bool eraseSector(uint32_t s) override {
    if (crashed) return false;
    for (uint32_t i = 0; i < sector; i++) {
      if (!spend()) {
        for (uint32_t k = i; k < sector; k++) mem[s * sector + k] ^= 0x5A;  // garbage
        return false;
      }
      mem[s * sector + i] = 0xFF;
    }
    return true;
  }
};

struct RamNvs : sy::Nvs {
  std::map<std::string, uint32_t> kv;
  bool fail = false;
  bool getU32(const char* key, uint32_t& out) override {
    auto it = kv.find(key);
    if (it == kv.end()) return false;
    out = it->second;
    return true;
  }
  bool setU32(const char* key, uint32_t value) override {
    if (fail) return false;
    kv[key] = value;
    return true;
  }
};

struct FakePort : sy::MqttPort {
  struct Pub {
    std::string topic, payload;
    bool retain;
    int mid;
  };
  std::vector<Pub> pubs;
  std::vector<std::string> subs;
  int connects = 0, disconnects = 0, nextMid = 1;
  bool refuseConnect = false;
  std::string will;
  bool connect(const char*, const char*, const char*, const Will& w) override {
    connects++;
    will.assign(w.payload, w.len);
    return !refuseConnect;
  }
  int publish(const char* topic, const char* payload, size_t len, bool retain) override {
    pubs.push_back({topic, std::string(payload, len), retain, nextMid});
    return nextMid++;
  }
  bool subscribe(const char* filter) override {
    subs.push_back(filter);
    return true;
  }
  void disconnect(bool) override { disconnects++; }
  // Publishes on a topic ending in `suffix`.
  std::vector<Pub> on(const std::string& suffix) const {
    std::vector<Pub> out;
    for (const Pub& p : pubs) {
      if (p.topic.size() >= suffix.size() && p.topic.compare(p.topic.size() - suffix.size(), suffix.size(), suffix) == 0) out.push_back(p);
    }
    return out;
  }
};
