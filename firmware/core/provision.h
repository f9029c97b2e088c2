// The provisioning document (contracts/provisioning.ts is its definition): one JSON line that
// tells a device its farm, kind, id, MQTT password, broker and network. Read from the serial
// port at setup (src/hw/provision_serial.h) or from a file on the host, kept in NVS as its text
// and parsed again at every boot. Parsed as strictly as the zod schema: an unknown member, a
// wrong type or a value out of range refuses the whole document, with the field and why.
#pragma once
#include <cstddef>
#include <cstdint>

#include "contract.h"

namespace sy {

constexpr size_t kProvisionMaxBytes = 1024;

struct Provisioning {
  char farm[33] = {};
  Kind kind = Kind::Pump;
  char device[33] = {};
  char password[129] = {};
  bool tls = false;
  char host[254] = {};
  uint16_t port = 0;
  bool hasWifi = false;
  char ssid[33] = {};
  char wifiPassword[64] = {};
  bool hasModem = false;
  char apn[64] = {};
  char modemUser[64] = {};
  char modemPassword[64] = {};
};

struct ProvisionResult {
  bool ok = false;
  // The member refused ("broker", "wifi.ssid"), or "" for the document as a whole.
  char field[24] = {};
  char reason[96] = {};
};

ProvisionResult parseProvisioning(const char* text, size_t len, Provisioning& out);

}  // namespace sy
