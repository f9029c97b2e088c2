// NOT COMPILED HERE (see firmware/README.md). The IP link: Wi-Fi where a farm has it, else a 4G
// modem (SIM7600 over UART2 with TinyGSM, PPP not needed: esp-mqtt runs on the ESP32's own lwIP
// when the modem is in PPPoS; here the simpler path, Wi-Fi first, then the modem's data
// session). SNTP (configTime) as soon as there is a link: until it answers, readings are held
// by the core with their monotonic time, and no MQTT session is opened.
#pragma once
#include <WiFi.h>
#include <time.h>

class Link {
 public:
  void begin(const char* ssid, const char* pass) {
    WiFi.mode(WIFI_STA);
    WiFi.setAutoReconnect(true);
    WiFi.begin(ssid, pass);
    configTime(0, 0, "pool.ntp.org", "time.google.com");
  }
  bool up() const { return WiFi.status() == WL_CONNECTED; }
  // The wall clock, once SNTP (or the RTC after a deep-sleep wake) has set it.
  bool epochMs(int64_t& out) const {
    timeval tv;
    gettimeofday(&tv, nullptr);
    out = static_cast<int64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000;
    return tv.tv_sec > 1577836800;  // before 2020: never set
  }
  int rssiDbm() const { return up() ? WiFi.RSSI() : 0; }
};
