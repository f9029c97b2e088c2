// Copy to secrets.h (never committed) or provision over serial. `suanyang device add ... --json`
// prints the device's MQTT password once.
#pragma once
#define SY_FARM "ranong-01"
#define SY_DEVICE "ranong-01-pump"
#define SY_PASSWORD "the password printed by suanyang device add"
#define SY_BROKER "mqtts://broker.example.org:8883"
#define SY_WIFI_SSID "farm-office"
#define SY_WIFI_PASS "..."
#define SY_CA_PEM "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n"
