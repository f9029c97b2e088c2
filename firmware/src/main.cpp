// NOT COMPILED HERE (see firmware/README.md): the ESP32 entry point. Everything that decides
// anything is in ../core (verified on the host); this file only wires the hardware layers to it.
#include <Arduino.h>
#include <esp_sleep.h>
#include <esp_task_wdt.h>
#include <esp_timer.h>

#include "device.h"
#include "hw/esp_mqtt_port.h"
#include "hw/esp_sensors.h"
#include "hw/esp_storage.h"
#include "hw/link.h"
#include "hw/ota.h"
#include "secrets.h"

#if defined(SY_KIND_SOIL)
static constexpr sy::Kind kKind = sy::Kind::Soil;
#elif defined(SY_KIND_WATERBANK)
static constexpr sy::Kind kKind = sy::Kind::Waterbank;
#else
static constexpr sy::Kind kKind = sy::Kind::Pump;
#endif

RTC_DATA_ATTR static sy::WakeState wake;  // kept through deep sleep, lost on a power cut

static EspFlash flash;
static EspNvs nvs;
static EspSensors sensors;
static Link link;
static EspMqttPort mqtt(SY_BROKER, SY_CA_PEM);
static sy::DeviceConfig cfg;
static sy::Device* device = nullptr;
static bool delivered = false;

static int64_t monoMs() { return esp_timer_get_time() / 1000; }

class Observer : public sy::DeviceObserver {
  void delivered(sy::Channel, uint32_t) override { ::delivered = true; }
  void problem(const char* what, const char* detail, uint32_t n) override { log_w("%s: %s (%u)", what, detail, n); }
};
static Observer observer;

void setup() {
  esp_task_wdt_init(30, true);  // a hung loop resets the board (and rolls back an unconfirmed OTA)
  esp_task_wdt_add(nullptr);
  if (!flash.open() || !nvs.open()) esp_restart();
  sensors.begin();
  cfg.farm = SY_FARM;
  cfg.kind = kKind;
  cfg.device = SY_DEVICE;
  cfg.password = SY_PASSWORD;
  cfg.fw = "sy-esp32-1.0.0";
  static sy::Device dev(cfg, flash, nvs, mqtt, sensors, kKind == sy::Kind::Pump ? &sensors : nullptr, &observer);
  device = &dev;
  const bool woke = esp_sleep_get_wakeup_cause() == ESP_SLEEP_WAKEUP_TIMER;
  if (!dev.begin(monoMs(), woke ? wake : sy::WakeState())) esp_restart();
  link.begin(SY_WIFI_SSID, SY_WIFI_PASS);
}

void loop() {
  esp_task_wdt_reset();
  const int64_t t = monoMs();
  int64_t epoch = 0;
  if (!device->synced() && link.epochMs(epoch)) device->onTimeSynced(epoch, monoMs());
  EspMqttPort::Event e;
  while (mqtt.poll(e)) {
    if (e.type == EspMqttPort::Event::Connected) device->onConnected(t);
    else if (e.type == EspMqttPort::Event::Lost) device->onConnectionLost(t);
    else if (e.type == EspMqttPort::Event::Puback) device->onPuback(e.mid, t);
    else device->onMessage(e.topic, e.payload, static_cast<size_t>(e.len), t);
  }
  device->tick(t, link.up());
  if (delivered) otaConfirm();
  if (device->wantsReboot(t)) esp_restart();
  // A soil probe sleeps between readings once everything is delivered (a water bank on a
  // battery likewise); a pump controller never sleeps.
  if (kKind == sy::Kind::Soil && device->ring().unacked() == 0 && device->seq() > wake.seq) {
    wake = device->sleepState();
    esp_sleep_enable_timer_wakeup(static_cast<uint64_t>(device->intervalS()) * 1000000ULL);
    esp_deep_sleep_start();
  }
  delay(10);
}
