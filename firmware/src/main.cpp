// NOT COMPILED HERE (see firmware/README.md): the ESP32 entry point. Everything that decides
// anything is in ../core (verified on the host); this file only wires the hardware layers to it.
#include <Arduino.h>
#include <esp_sleep.h>
#include <esp_task_wdt.h>
#include <esp_timer.h>

#include <sys/time.h>

#include "at_mqtt.h"
#include "device.h"
#include "hw/esp_mqtt_port.h"
#include "hw/esp_sensors.h"
#include "hw/esp_storage.h"
#include "hw/link.h"
#include "hw/modem_uart.h"
#include "hw/ota.h"
#include "hw/provision_serial.h"
// A build may carry its identity (`suanyang device add --firmware header` > src/secrets.h); a
// document provisioned over serial and kept in NVS takes precedence. Without either the device
// waits on the serial port for one.
#if __has_include("secrets.h")
#include "secrets.h"
#endif

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
static EspMqttPort mqtt;
// The 4G path, for a document with a modem and no Wi-Fi: the modem's own MQTT client over AT.
static ModemUart modemUart;
static sy::ModemConfig modemCfg;
static sy::AtMqttPort* modem = nullptr;
static int64_t nextClockAskMs = 0;
static SerialProvisioning serialProvisioning;
static sy::Provisioning prov;
static char brokerUri[280];
static sy::DeviceConfig cfg;
static sy::Device* device = nullptr;
static bool delivered = false;

static int64_t monoMs() { return esp_timer_get_time() / 1000; }

class Observer : public sy::DeviceObserver {
  void delivered(sy::Channel, uint32_t) override { ::delivered = true; }
  void problem(const char* what, const char* detail, uint32_t n) override { log_w("%s: %s (%u)", what, detail, n); }
};
static Observer observer;

// The AT port's outcomes, to the device; its network clock stands in for SNTP (and is set as the
// system time, so a deep-sleep wake has it from the RTC like a Wi-Fi device).
class ModemEvents : public sy::MqttEvents {
  void connected(int64_t t) override { device->onConnected(t); }
  void connectionLost(int64_t t) override { device->onConnectionLost(t); }
  void puback(int mid, int64_t t) override { device->onPuback(mid, t); }
  void message(const char* topic, const char* payload, size_t len, int64_t t) override { device->onMessage(topic, payload, len, t); }
  void clock(int64_t epochMs, int64_t t) override {
    timeval tv = {static_cast<time_t>(epochMs / 1000), static_cast<suseconds_t>((epochMs % 1000) * 1000)};
    settimeofday(&tv, nullptr);
    device->onTimeSynced(epochMs, t);
  }
};
static ModemEvents modemEvents;

void setup() {
  esp_task_wdt_init(30, true);  // a hung loop resets the board (and rolls back an unconfirmed OTA)
  esp_task_wdt_add(nullptr);
  if (!flash.open() || !nvs.open()) esp_restart();
  sensors.begin();
  Serial.begin(115200);
#if defined(SY_DEVICE)
  // The build's own identity, offered as if it had arrived over serial (the same parser checks it).
  const bool haveBuilt = true;
#else
  const bool haveBuilt = false;
#endif
  if (!serialProvisioning.begin(nvs, kKind, prov) && !haveBuilt) esp_restart();
#if defined(SY_DEVICE)
  if (prov.device[0] == '\0') {
    snprintf(prov.farm, sizeof prov.farm, "%s", SY_FARM);
    snprintf(prov.device, sizeof prov.device, "%s", SY_DEVICE);
    snprintf(prov.password, sizeof prov.password, "%s", SY_PASSWORD);
    snprintf(brokerUri, sizeof brokerUri, "%s", SY_BROKER);
    snprintf(prov.ssid, sizeof prov.ssid, "%s", SY_WIFI_SSID);
    snprintf(prov.wifiPassword, sizeof prov.wifiPassword, "%s", SY_WIFI_PASS);
    prov.hasWifi = prov.ssid[0] != '\0';
    mqtt.configure(brokerUri, SY_CA_PEM);
  } else
#endif
  {
    snprintf(brokerUri, sizeof brokerUri, "%s://%s:%u", prov.tls ? "mqtts" : "mqtt", prov.host, prov.port);
    mqtt.configure(brokerUri, nullptr);
  }
  cfg.farm = prov.farm;
  cfg.kind = kKind;
  cfg.device = prov.device;
  cfg.password = prov.password;
  cfg.fw = "sy-esp32-1.0.0";
  const bool useModem = !prov.hasWifi && prov.hasModem;
  modemCfg.apn = prov.apn;
  modemCfg.apnUser = prov.modemUser;
  modemCfg.apnPassword = prov.modemPassword;
  modemCfg.host = prov.host;
  modemCfg.port = prov.port;
  modemCfg.tls = prov.tls;  // needs the broker's CA in the modem as "ca.pem" (AT+CCERTDOWN): not done here
  static sy::AtMqttPort at(modemUart, modemCfg);
  if (useModem) {
    modemUart.begin(16, 17, -1);
    at.attach(&modemEvents);
    modem = &at;
    cfg.connectTimeoutMs = 180000;  // registration (up to 120 s) and the modem's CONNECT
  }
  sy::MqttPort& port = useModem ? static_cast<sy::MqttPort&>(at) : static_cast<sy::MqttPort&>(mqtt);
  static sy::Device dev(cfg, flash, nvs, port, sensors, kKind == sy::Kind::Pump ? &sensors : nullptr, &observer);
  device = &dev;
  const bool woke = esp_sleep_get_wakeup_cause() == ESP_SLEEP_WAKEUP_TIMER;
  if (!dev.begin(monoMs(), woke ? wake : sy::WakeState())) esp_restart();
  // Wi-Fi when provisioned, else the modem (its data session is its own: no IP on the ESP32).
  if (!useModem) link.begin(prov.ssid, prov.wifiPassword);
}

void loop() {
  esp_task_wdt_reset();
  const int64_t t = monoMs();
  int64_t epoch = 0;
  if (!device->synced() && link.epochMs(epoch)) device->onTimeSynced(epoch, monoMs());
  if (modem != nullptr) {
    modem->poll(t);
    if (!device->synced() && t >= nextClockAskMs) {
      modem->requestClock();
      nextClockAskMs = t + 30000;
    }
  }
  EspMqttPort::Event e;
  while (modem == nullptr && mqtt.poll(e)) {
    if (e.type == EspMqttPort::Event::Connected) device->onConnected(t);
    else if (e.type == EspMqttPort::Event::Lost) device->onConnectionLost(t);
    else if (e.type == EspMqttPort::Event::Puback) device->onPuback(e.mid, t);
    else device->onMessage(e.topic, e.payload, static_cast<size_t>(e.len), t);
  }
  device->tick(t, modem != nullptr || link.up());
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
