// NOT COMPILED HERE (see firmware/README.md). The core's Flash on the raw "ring" partition
// (esp_partition_read/write/erase_range: a write only clears bits, as the core expects) and its
// Nvs on the NVS "sy" namespace (nvs_commit makes a value durable).
#pragma once
#include <esp_partition.h>
#include <nvs.h>
#include <nvs_flash.h>

#include "flash.h"

class EspFlash : public sy::Flash {
 public:
  bool open() {
    part_ = esp_partition_find_first(ESP_PARTITION_TYPE_DATA, static_cast<esp_partition_subtype_t>(0x40), "ring");
    return part_ != nullptr;
  }
  uint32_t sizeBytes() const override { return part_->size; }
  uint32_t sectorBytes() const override { return SPI_FLASH_SEC_SIZE; }
  bool read(uint32_t addr, void* out, size_t n) override { return esp_partition_read(part_, addr, out, n) == ESP_OK; }
  bool write(uint32_t addr, const void* data, size_t n) override { return esp_partition_write(part_, addr, data, n) == ESP_OK; }
  bool eraseSector(uint32_t sector) override {
    return esp_partition_erase_range(part_, sector * SPI_FLASH_SEC_SIZE, SPI_FLASH_SEC_SIZE) == ESP_OK;
  }

 private:
  const esp_partition_t* part_ = nullptr;
};

class EspNvs : public sy::Nvs {
 public:
  bool open() {
    esp_err_t e = nvs_flash_init();
    if (e == ESP_ERR_NVS_NO_FREE_PAGES || e == ESP_ERR_NVS_NEW_VERSION_FOUND) {
      nvs_flash_erase();
      e = nvs_flash_init();
    }
    return e == ESP_OK && nvs_open("sy", NVS_READWRITE, &h_) == ESP_OK;
  }
  bool getU32(const char* key, uint32_t& out) override { return nvs_get_u32(h_, key, &out) == ESP_OK; }
  bool setU32(const char* key, uint32_t value) override { return nvs_set_u32(h_, key, value) == ESP_OK && nvs_commit(h_) == ESP_OK; }
  // Provisioning strings (see provisioning.h).
  bool getStr(const char* key, char* out, size_t cap) {
    size_t n = cap;
    return nvs_get_str(h_, key, out, &n) == ESP_OK;
  }
  bool setStr(const char* key, const char* v) { return nvs_set_str(h_, key, v) == ESP_OK && nvs_commit(h_) == ESP_OK; }

 private:
  nvs_handle_t h_ = 0;
};
