// NOT COMPILED HERE (see firmware/README.md). Provisioning over the USB serial port: the
// document `suanyang device add --firmware json` prints (contracts/provisioning.ts), pasted into
// a serial monitor at 115200 baud (or sent with `cat provision.json > /dev/ttyUSB0`). The core
// parses it (core/provision.h, the same parser the host build tests against the zod schema);
// this layer only reads the line, answers, and keeps the text in NVS, where every boot reads it
// again. A device with no document waits for one; a provisioned one listens for 5 s after reset,
// so a technician can re-provision it without a build (a document is refused whole: the old one
// stays).
#pragma once
#include <Arduino.h>

#include "esp_storage.h"
#include "provision.h"

class SerialProvisioning {
 public:
  // The document in force after setup: from NVS, or the one received now. False only when
  // `waitForever` is false and there is none.
  bool begin(EspNvs& nvs, sy::Kind builtFor, sy::Provisioning& out) {
    char stored[sy::kProvisionMaxBytes + 1] = {};
    bool have = nvs.getStr("prov", stored, sizeof stored) && accept(stored, strlen(stored), builtFor, out, false);
    const uint32_t listenMs = have ? 5000 : UINT32_MAX;
    const uint32_t start = millis();
    uint32_t lastPrompt = 0;
    while (millis() - start < listenMs) {
      if (!have && millis() - lastPrompt > 5000) {
        Serial.println("{\"provision\":\"waiting\",\"hint\":\"paste the line from suanyang device add --firmware json\"}");
        lastPrompt = millis();
      }
      if (!readLine()) {
        delay(10);
        continue;
      }
      sy::Provisioning candidate;
      if (accept(line_, len_, builtFor, candidate, true) && nvs.setStr("prov", line_)) {
        out = candidate;
        Serial.println("{\"provision\":\"ok\",\"restart\":true}");
        delay(100);
        esp_restart();  // start clean on the new identity (new boot counted, ring kept)
      }
      len_ = 0;
    }
    return have;
  }

 private:
  bool accept(const char* text, size_t len, sy::Kind builtFor, sy::Provisioning& out, bool answer) {
    const sy::ProvisionResult r = sy::parseProvisioning(text, len, out);
    const bool kindOk = r.ok && out.kind == builtFor;
    if (answer && !r.ok) Serial.printf("{\"provision\":\"refused\",\"field\":\"%s\",\"reason\":\"%s\"}\n", r.field, r.reason);
    if (answer && r.ok && !kindOk) Serial.printf("{\"provision\":\"refused\",\"field\":\"kind\",\"reason\":\"this build is for %s\"}\n", sy::kindName(builtFor));
    return kindOk;
  }
  // One line, at most kProvisionMaxBytes; a longer one is read to its end and refused.
  bool readLine() {
    while (Serial.available() > 0) {
      const int c = Serial.read();
      if (c == '\n' || c == '\r') {
        if (len_ == 0) continue;
        if (overflow_) {
          Serial.println("{\"provision\":\"refused\",\"field\":\"\",\"reason\":\"longer than 1024 bytes\"}");
          overflow_ = false;
          len_ = 0;
          continue;
        }
        line_[len_] = '\0';
        return true;
      }
      if (len_ < sy::kProvisionMaxBytes) line_[len_++] = static_cast<char>(c);
      else overflow_ = true;
    }
    return false;
  }
  char line_[sy::kProvisionMaxBytes + 1] = {};
  size_t len_ = 0;
  bool overflow_ = false;
};
