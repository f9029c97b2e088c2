// The flash partition and NVS of the host build, on files: the ring survives the process being
// killed (kill -9 at any instant keeps what write(2) was given), and a restart on the same file
// is a reboot. NOR semantics are enforced (a write only clears bits), so the core cannot rely on
// something real flash would not do.
#pragma once
#include <map>
#include <string>

#include "flash.h"

class FileFlash : public sy::Flash {
 public:
  // Creates the file (all 0xFF) when missing; false when it cannot be opened or has another size.
  bool open(const std::string& path, uint32_t sizeBytes, uint32_t sectorBytes);
  ~FileFlash();
  uint32_t sizeBytes() const override { return size_; }
  uint32_t sectorBytes() const override { return sector_; }
  bool read(uint32_t addr, void* out, size_t n) override;
  bool write(uint32_t addr, const void* data, size_t n) override;
  bool eraseSector(uint32_t sector) override;

 private:
  int fd_ = -1;
  uint32_t size_ = 0, sector_ = 0;
};

// key=value lines, replaced atomically (write, fsync, rename, fsync the folder): a boot counter
// that said "saved" is saved, whatever happens next.
class FileNvs : public sy::Nvs {
 public:
  bool open(const std::string& path);
  bool getU32(const char* key, uint32_t& out) override;
  bool setU32(const char* key, uint32_t value) override;

 private:
  std::string path_;
  std::map<std::string, uint32_t> kv_;
};
