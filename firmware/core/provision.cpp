#include "provision.h"

#include <cstdio>
#include <cstring>

#include "json.h"

namespace sy {

namespace {

bool isAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// contracts/names.ts ID_PATTERN: ^[a-z0-9][a-z0-9-]{0,31}$
bool validId(const Str& s) {
  if (s.n < 1 || s.n > 32) return false;
  for (size_t i = 0; i < s.n; i++) {
    const char c = s.p[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && c == '-');
    if (!ok) return false;
  }
  return true;
}

bool allIn(const Str& s, unsigned char lo, unsigned char hi) {
  for (size_t i = 0; i < s.n; i++) {
    const auto c = static_cast<unsigned char>(s.p[i]);
    if (c < lo || c > hi) return false;
  }
  return true;
}

// Well-formed UTF-8 with no C0 control and no DEL (an SSID is shown on phones and in logs).
bool plainUtf8(const Str& s) {
  size_t i = 0;
  while (i < s.n) {
    const auto c = static_cast<unsigned char>(s.p[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      i++;
      continue;
    }
    size_t extra = 0;
    uint32_t cp = 0;
    if (c >= 0xc2 && c <= 0xdf) { extra = 1; cp = c & 0x1fu; }
    else if (c >= 0xe0 && c <= 0xef) { extra = 2; cp = c & 0x0fu; }
    else if (c >= 0xf0 && c <= 0xf4) { extra = 3; cp = c & 0x07u; }
    else return false;
    if (s.n - i <= extra) return false;
    for (size_t k = 1; k <= extra; k++) {
      const auto cc = static_cast<unsigned char>(s.p[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

// One DNS label: 1-63 letters, digits and inner hyphens.
bool validHost(const char* h, size_t n) {
  if (n < 1 || n > 253) return false;
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i < n && h[i] != '.') {
      if (!isAlnum(h[i]) && h[i] != '-') return false;
      continue;
    }
    const size_t len = i - start;
    if (len < 1 || len > 63 || h[start] == '-' || h[i - 1] == '-') return false;
    start = i + 1;
  }
  return true;
}

bool copy(char* dst, size_t cap, const Str& s) {
  if (s.n >= cap) return false;
  memcpy(dst, s.p, s.n);
  dst[s.n] = '\0';
  return true;
}

// mqtt[s]://host[:port], as contracts/provisioning.ts parseBrokerUrl.
bool parseBroker(const Str& s, Provisioning& out) {
  if (s.n > 300) return false;
  size_t at = 0;
  if (s.n >= 8 && memcmp(s.p, "mqtts://", 8) == 0) { out.tls = true; at = 8; }
  else if (s.n >= 7 && memcmp(s.p, "mqtt://", 7) == 0) { out.tls = false; at = 7; }
  else return false;
  size_t hostEnd = at;
  while (hostEnd < s.n && s.p[hostEnd] != ':') hostEnd++;
  if (!validHost(s.p + at, hostEnd - at)) return false;
  uint32_t port = out.tls ? 8883 : 1883;
  if (hostEnd < s.n) {
    const size_t digits = s.n - hostEnd - 1;
    if (digits < 1 || digits > 5) return false;
    port = 0;
    for (size_t i = hostEnd + 1; i < s.n; i++) {
      if (s.p[i] < '0' || s.p[i] > '9') return false;
      port = port * 10 + static_cast<uint32_t>(s.p[i] - '0');
    }
    if (port < 1 || port > 65535) return false;
  }
  memcpy(out.host, s.p + at, hostEnd - at);
  out.host[hostEnd - at] = '\0';
  out.port = static_cast<uint16_t>(port);
  return true;
}

// A refusal per member, reset when the member comes again (JSON.parse keeps the last).
struct Slot {
  bool seen = false;
  const char* field = nullptr;
  const char* reason = nullptr;
  void set(bool s) { seen = s; field = nullptr; reason = nullptr; }
  void refuse(const char* f, const char* r) { if (!field) { field = f; reason = r; } }
};

enum Top { kV, kFarm, kKind, kDevice, kPassword, kBroker, kWifi, kModem, kTopCount };
const char* const kTopNames[kTopCount] = {"v", "farm", "kind", "device", "password", "broker", "wifi", "modem"};

ProvisionResult refusal(const char* field, const char* reason) {
  ProvisionResult r;
  snprintf(r.field, sizeof r.field, "%s", field);
  snprintf(r.reason, sizeof r.reason, "%s", reason);
  return r;
}

// Reads the nested wifi or modem object into out; its member refusals go to slot.
bool readWifi(JsonReader& rd, Provisioning& out, Slot& slot) {
  out.hasWifi = true;
  out.ssid[0] = out.wifiPassword[0] = '\0';
  bool ssid = false;
  Str k;
  JsonValue v;
  if (!rd.beginObject()) return false;
  while (rd.next(k, v)) {
    const bool nested = v.type == JsonType::Object || v.type == JsonType::Array;
    if (nested && !rd.skip()) return false;
    if (k.equals("ssid")) {
      ssid = v.type == JsonType::String && !v.s.replaced && v.s.n >= 1 && v.s.n <= 32 && plainUtf8(v.s) && copy(out.ssid, sizeof out.ssid, v.s);
      if (!ssid) slot.refuse("wifi.ssid", "1 to 32 bytes, no control characters");
    } else if (k.equals("password")) {
      const bool ok = v.type == JsonType::String && (v.s.n == 0 || (v.s.n >= 8 && v.s.n <= 63 && allIn(v.s, 0x20, 0x7e))) &&
                      copy(out.wifiPassword, sizeof out.wifiPassword, v.s);
      if (!ok) slot.refuse("wifi.password", "empty, or 8 to 63 printable ASCII characters");
    } else {
      slot.refuse("wifi", "unknown member");
    }
  }
  if (!ssid) slot.refuse("wifi.ssid", "required");
  return !rd.failed();
}

bool readModem(JsonReader& rd, Provisioning& out, Slot& slot) {
  out.hasModem = true;
  out.apn[0] = out.modemUser[0] = out.modemPassword[0] = '\0';
  bool apn = false;
  Str k;
  JsonValue v;
  if (!rd.beginObject()) return false;
  while (rd.next(k, v)) {
    const bool nested = v.type == JsonType::Object || v.type == JsonType::Array;
    if (nested && !rd.skip()) return false;
    const bool str = v.type == JsonType::String && v.s.n <= 63 && allIn(v.s, 0x21, 0x7e);
    if (k.equals("apn")) {
      apn = str && v.s.n >= 1 && copy(out.apn, sizeof out.apn, v.s);
      if (!apn) slot.refuse("modem.apn", "1 to 63 printable ASCII characters");
    } else if (k.equals("user")) {
      if (!(str && copy(out.modemUser, sizeof out.modemUser, v.s))) slot.refuse("modem.user", "at most 63 printable ASCII characters");
    } else if (k.equals("password")) {
      if (!(str && copy(out.modemPassword, sizeof out.modemPassword, v.s))) slot.refuse("modem.password", "at most 63 printable ASCII characters");
    } else {
      slot.refuse("modem", "unknown member");
    }
  }
  if (!apn) slot.refuse("modem.apn", "required");
  return !rd.failed();
}

}  // namespace

ProvisionResult parseProvisioning(const char* text, size_t len, Provisioning& out) {
  out = Provisioning();
  if (len > kProvisionMaxBytes) return refusal("", "longer than 1024 bytes");
  char scratch[kProvisionMaxBytes];
  JsonReader rd(text, len, scratch, sizeof scratch);
  if (!rd.beginObject()) return refusal("", "not a JSON object");
  Slot slots[kTopCount];
  const char* unknown = nullptr;
  Str key;
  JsonValue v;
  while (rd.next(key, v)) {
    int which = -1;
    for (int i = 0; i < kTopCount; i++) if (key.equals(kTopNames[i])) which = i;
    const bool object = v.type == JsonType::Object;
    if (which == kWifi && object) {
      slots[kWifi].set(true);
      if (!readWifi(rd, out, slots[kWifi])) break;
      continue;
    }
    if (which == kModem && object) {
      slots[kModem].set(true);
      if (!readModem(rd, out, slots[kModem])) break;
      continue;
    }
    if ((object || v.type == JsonType::Array) && !rd.skip()) break;
    if (which < 0) {
      if (!unknown) unknown = "unknown member";
      continue;
    }
    Slot& slot = slots[which];
    slot.set(true);
    const bool str = v.type == JsonType::String;
    switch (which) {
      case kV:
        if (!(v.type == JsonType::Number && v.num == 1)) slot.refuse("v", "must be 1");
        break;
      case kFarm:
        if (!(str && validId(v.s) && copy(out.farm, sizeof out.farm, v.s))) slot.refuse("farm", "an id: a-z, 0-9 and -, at most 32");
        break;
      case kDevice:
        if (!(str && validId(v.s) && copy(out.device, sizeof out.device, v.s))) slot.refuse("device", "an id: a-z, 0-9 and -, at most 32");
        break;
      case kKind: {
        char name[16] = {};
        if (!(str && copy(name, sizeof name, v.s) && parseKind(name, out.kind))) slot.refuse("kind", "pump, soil or waterbank");
        break;
      }
      case kPassword:
        if (!(str && v.s.n >= 8 && v.s.n <= 128 && allIn(v.s, 0x21, 0x7e) && copy(out.password, sizeof out.password, v.s)))
          slot.refuse("password", "8 to 128 printable ASCII characters");
        break;
      case kBroker:
        if (!(str && parseBroker(v.s, out))) slot.refuse("broker", "mqtt:// or mqtts:// host and port");
        break;
      default:  // wifi or modem that is not an object
        out.hasWifi = which == kWifi ? false : out.hasWifi;
        out.hasModem = which == kModem ? false : out.hasModem;
        slot.refuse(kTopNames[which], "must be an object");
    }
  }
  if (rd.failed() || !rd.atEnd()) return refusal("", "malformed JSON");
  if (unknown) return refusal("", "unknown member");
  for (int i = 0; i < kTopCount; i++) {
    if (slots[i].field) return refusal(slots[i].field, slots[i].reason);
    if (!slots[i].seen && i != kWifi && i != kModem) return refusal(kTopNames[i], "required");
  }
  if (!out.hasWifi && !out.hasModem) return refusal("wifi", "needs wifi or modem");
  ProvisionResult ok;
  ok.ok = true;
  return ok;
}

}  // namespace sy
