#include "posix_store.h"

#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

bool FileFlash::open(const std::string& path, uint32_t sizeBytes, uint32_t sectorBytes) {
  size_ = sizeBytes;
  sector_ = sectorBytes;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
  if (fd_ < 0) return false;
  struct stat st;
  if (fstat(fd_, &st) != 0) return false;
  if (st.st_size == 0) {
    std::vector<unsigned char> ff(sizeBytes, 0xFF);
    if (pwrite(fd_, ff.data(), ff.size(), 0) != static_cast<ssize_t>(ff.size())) return false;
    fsync(fd_);
    return true;
  }
  return st.st_size == static_cast<off_t>(sizeBytes);
}

FileFlash::~FileFlash() {
  if (fd_ >= 0) close(fd_);
}

bool FileFlash::read(uint32_t addr, void* out, size_t n) {
  if (addr + n > size_) return false;
  return pread(fd_, out, n, addr) == static_cast<ssize_t>(n);
}

bool FileFlash::write(uint32_t addr, const void* data, size_t n) {
  if (addr + n > size_) return false;
  unsigned char old[1024];
  const unsigned char* d = static_cast<const unsigned char*>(data);
  for (size_t off = 0; off < n; off += sizeof old) {
    size_t k = n - off < sizeof old ? n - off : sizeof old;
    if (pread(fd_, old, k, addr + off) != static_cast<ssize_t>(k)) return false;
    for (size_t i = 0; i < k; i++) {
      if ((d[off + i] & ~old[i]) != 0) {
        fprintf(stderr, "flash: write at %u would set bits (not NOR-safe)\n", static_cast<unsigned>(addr + off + i));
        return false;
      }
      old[i] &= d[off + i];
    }
    if (pwrite(fd_, old, k, addr + off) != static_cast<ssize_t>(k)) return false;
  }
  return true;
}

bool FileFlash::eraseSector(uint32_t sector) {
  std::vector<unsigned char> ff(sector_, 0xFF);
  return pwrite(fd_, ff.data(), ff.size(), static_cast<off_t>(sector) * sector_) == static_cast<ssize_t>(ff.size());
}

bool FileNvs::open(const std::string& path) {
  path_ = path;
  kv_.clear();
  FILE* f = fopen(path.c_str(), "r");
  if (!f) return true;  // a new device
  char line[128];
  while (fgets(line, sizeof line, f)) {
    char* eq = strchr(line, '=');
    if (!eq) continue;
    *eq = '\0';
    kv_[line] = static_cast<uint32_t>(strtoul(eq + 1, nullptr, 10));
  }
  fclose(f);
  return true;
}

bool FileNvs::getU32(const char* key, uint32_t& out) {
  auto it = kv_.find(key);
  if (it == kv_.end()) return false;
  out = it->second;
  return true;
}

bool FileNvs::setU32(const char* key, uint32_t value) {
  auto next = kv_;
  next[key] = value;
  std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return false;
  std::string text;
  for (const auto& [k, v] : next) text += k + "=" + std::to_string(v) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  close(fd);
  if (!ok || rename(tmp.c_str(), path_.c_str()) != 0) return false;
  std::vector<char> dir(path_.begin(), path_.end());
  dir.push_back('\0');
  int dfd = ::open(dirname(dir.data()), O_RDONLY);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  kv_ = std::move(next);
  return true;
}
