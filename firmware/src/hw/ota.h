// NOT COMPILED HERE (see firmware/README.md). OTA with rollback (esp_ota_ops.h; the bootloader
// needs CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE, which the prebuilt Arduino bootloader may lack:
// build with framework = arduino, espidf and sdkconfig.defaults to have it). A new image is
// pending verification after its first boot; it is marked valid only once it has delivered a
// reading (a PUBACK), else the next reset (the watchdog) boots the previous image.
#pragma once
#include <esp_ota_ops.h>

inline bool otaPendingVerify() {
  esp_ota_img_states_t st;
  return esp_ota_get_state_partition(esp_ota_get_running_partition(), &st) == ESP_OK && st == ESP_OTA_IMG_PENDING_VERIFY;
}

inline void otaConfirm() {
  if (otaPendingVerify()) esp_ota_mark_app_valid_cancel_rollback();
}
