// Storage the core writes through: a NOR flash partition (erase sets a sector to 0xFF, a write
// can only clear bits) and a small key-value store for counters (NVS on the ESP32). The host
// build implements both on files (firmware/test/host/posix_store.cpp), the ESP32 on
// esp_partition_* and nvs_* (firmware/src/hw/, not compiled here).
#pragma once
#include <cstddef>
#include <cstdint>

namespace sy {

class Flash {
 public:
  virtual uint32_t sizeBytes() const = 0;
  virtual uint32_t sectorBytes() const = 0;
  virtual bool read(uint32_t addr, void* out, size_t n) = 0;
  // NOR semantics: the result is old & new. Callers only ever clear bits.
  virtual bool write(uint32_t addr, const void* data, size_t n) = 0;
  virtual bool eraseSector(uint32_t sector) = 0;

 protected:
  ~Flash() = default;  // never deleted through the interface: no operator delete in the core
};

class Nvs {
 public:
  virtual bool getU32(const char* key, uint32_t& out) = 0;
  // Durable when it returns true (fsync'd / committed): the boot counter relies on it.
  virtual bool setU32(const char* key, uint32_t value) = 0;

 protected:
  ~Nvs() = default;
};

}  // namespace sy
