// NOT COMPILED HERE (see firmware/README.md). The serial line to a SIM7600 on UART2 (GPIO 16 RX,
// 17 TX, WIRING.md) for the core's AtMqttPort (core/at_mqtt.h, verified on the host against a
// stand-in modem): non-blocking both ways, as the core's poll() expects. The RX buffer holds a
// whole received message (600 bytes and its URCs) between two polls of the 10 ms loop.
#pragma once
#include <Arduino.h>

#include "at_mqtt.h"

class ModemUart : public sy::SerialLine {
 public:
  // A module with a PWRKEY pin (-1: powered on by its board) is switched on with a 500 ms low
  // pulse; it answers AT some 10-15 s later, which the port's AT retries cover.
  void begin(int rxPin, int txPin, int pwrKeyPin) {
    if (pwrKeyPin >= 0) {
      pinMode(pwrKeyPin, OUTPUT);
      digitalWrite(pwrKeyPin, LOW);
      delay(500);
      digitalWrite(pwrKeyPin, HIGH);
    }
    Serial2.setRxBufferSize(2048);
    Serial2.begin(115200, SERIAL_8N1, rxPin, txPin);
  }
  size_t write(const char* data, size_t len) override {
    const int room = Serial2.availableForWrite();
    if (room <= 0) return 0;
    const size_t k = len < static_cast<size_t>(room) ? len : static_cast<size_t>(room);
    return Serial2.write(reinterpret_cast<const uint8_t*>(data), k);
  }
  size_t read(char* out, size_t cap) override {
    size_t k = 0;
    while (k < cap && Serial2.available() > 0) out[k++] = static_cast<char>(Serial2.read());
    return k;
  }
};
