// A build-time identity: `suanyang device add ... --firmware header > src/secrets.h` writes this
// file with the device's values (never commit it: firmware/.gitignore). Without it the device is
// provisioned over serial (README.md "Provisioning"), which also overrides it.
#pragma once
#define SY_FARM "demo-01"
#define SY_DEVICE "demo-01-pump"
#define SY_KIND_NAME "pump"
#define SY_PASSWORD "the password printed by suanyang device add"
#define SY_BROKER "mqtts://broker.example.org:8883"
#define SY_WIFI_SSID "farm-office"
#define SY_WIFI_PASS "..."
#define SY_MODEM_APN ""
#define SY_MODEM_USER ""
#define SY_MODEM_PASS ""
#define SY_CA_PEM nullptr  // or the broker's CA as a PEM string literal
