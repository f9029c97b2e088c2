#include "samples.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "device.h"
#include "json.h"

namespace {

struct RamFlash : sy::Flash {
  std::vector<unsigned char> mem = std::vector<unsigned char>(64 * 4096, 0xFF);
  uint32_t sizeBytes() const override { return static_cast<uint32_t>(mem.size()); }
  uint32_t sectorBytes() const override { return 4096; }
  bool read(uint32_t a, void* o, size_t n) override { return std::memcpy(o, &mem[a], n) != nullptr; }
  bool write(uint32_t a, const void* d, size_t n) override {
    for (size_t i = 0; i < n; i++) mem[a + i] &= static_cast<const unsigned char*>(d)[i];
    return true;
  }
  bool eraseSector(uint32_t s) override {
    std::fill(mem.begin() + s * 4096, mem.begin() + (s + 1) * 4096, 0xFF);
    return true;
  }
};

struct RamNvs : sy::Nvs {
  std::map<std::string, uint32_t> kv;
  bool getU32(const char* k, uint32_t& o) override {
    auto it = kv.find(k);
    if (it == kv.end()) return false;
    o = it->second;
    return true;
  }
  bool setU32(const char* k, uint32_t v) override { return (kv[k] = v, true); }
};

void line(const std::string& topic, bool retain, const char* payload, size_t len) {
  char out[2048];
  sy::JsonWriter w(out, sizeof out);
  w.open().key("topic").str(topic.c_str(), 200).key("retain").boolean(retain).key("payload").str(payload, len, 4096).close();
  if (w.finish()) printf("%s\n", out);
}

// Publishes straight to stdout, acknowledging everything at once.
struct PrintPort : sy::MqttPort {
  sy::Device* dev = nullptr;
  int mid = 1;
  std::vector<int> acks;
  bool connect(const char*, const char*, const char*, const Will& w) override {
    line("will:" + std::string(w.topic), true, w.payload, w.len);
    return true;
  }
  int publish(const char* topic, const char* payload, size_t len, bool retain) override {
    line(topic, retain, payload, len);
    acks.push_back(mid);
    return mid++;
  }
  bool subscribe(const char*) override { return true; }
  void disconnect(bool) override {}
};

// Sensors at the edges: in range, beyond every range, a failed heatsink sensor, no echo.
struct EdgePlant : sy::Sensors, sy::PumpDrive {
  int mode = 0;
  bool run = false, dry = false;
  bool readPump(int64_t, sy::PumpSensors& o) override {
    o.voc_v = 80;
    o.available_w = 450;
    o.irradiance_wm2 = mode == 1 ? 2000 : 850;
    o.pv_v = mode == 1 ? 1200 : run ? 64.37 : 80;
    o.pv_a = mode == 1 ? 150 : run ? 6.98 : 0;
    o.pv_w = mode == 1 ? 60000 : run ? (dry ? 150 : 449.5) : 0;
    o.motor_a = mode == 1 ? -3 : run ? 9.36 : 0;
    o.motor_rpm = run ? 3600 : 0;
    o.flow_lpm = mode == 1 ? 2500 : run && !dry ? 44.83 : 0;
    o.pressure_bar = mode == 1 ? 45 : 1.733;
    o.ctrl_temp_c = mode == 2 ? NAN : mode == 1 ? 130 : 44.4375;
    return true;
  }
  bool readSoil(int64_t, sy::SoilSensors& o) override {
    o.raw_adc = mode == 1 ? 5000 : mode == 2 ? -5 : 2412;
    o.soil_temp_c = mode == 1 ? 95 : 27.31;
    o.battery_v = mode == 1 ? 7 : 3.912;
    return true;
  }
  bool readBank(int64_t, sy::BankSensors& o) override {
    for (int i = 0; i < 5; i++) o.ping_cm[i] = mode == 2 ? NAN : mode == 1 ? 0 : 112.4 + i * 0.1;
    o.battery_v = mode == 1 ? NAN : 4.05;
    return true;
  }
  double rssiDbm() override { return mode == 1 ? -150 : -67; }
  void drive(bool r, double) override { run = r; }
};

const int64_t kEpoch = 1772323200000LL;  // 2026-03-01T00:00:00Z

void runDevice(sy::Kind kind, int mode) {
  RamFlash flash;
  RamNvs nvs;
  PrintPort port;
  EdgePlant plant;
  plant.mode = mode;
  sy::DeviceConfig cfg;
  cfg.farm = "ranong-01";
  cfg.kind = kind;
  cfg.device = kind == sy::Kind::Pump ? "pump-1" : kind == sy::Kind::Soil ? "soil-1" : "bank-1";
  cfg.fw = "sy-1.0.0 \"ทดสอบ\"";
  sy::Device dev(cfg, flash, nvs, port, plant, kind == sy::Kind::Pump ? &plant : nullptr, nullptr);
  port.dev = &dev;
  dev.begin(0);
  dev.onTimeSynced(kEpoch, 0);
  dev.tick(0, true);
  dev.onConnected(0);
  const char* cmds[] = {
      "{\"id\":\"c-1\",\"cmd\":\"stop\"}",
      "{\"id\":\"c-2\",\"cmd\":\"start\"}",
      "{\"id\":\"c-3\",\"cmd\":\"reset\"}",
      "{\"id\":\"c-4\",\"cmd\":\"set_interval\",\"args\":{\"seconds\":10,\"idle_seconds\":30}}",
      "{\"id\":\"c-5\",\"cmd\":\"set_interval\",\"args\":{\"seconds\":0.5}}",
      "{\"id\":\"\\u0e1b\\\"\\n\",\"cmd\":\"launch\"}",
      "{\"id\":5}",
      "not json",
      "{\"id\":\"c-6\",\"cmd\":\"reboot\"}",
  };
  const std::string cmdTopic = std::string("farm/ranong-01/") + sy::kindName(kind) + "/" + cfg.device + "/cmd";
  int64_t t = 0;
  for (int step = 0; step < 1200; step++) {
    t += 1000;
    if (step == 100) plant.dry = true;  // a dry-run trip on the pump
    if (step >= 10 && step < 19) dev.onMessage(cmdTopic.c_str(), cmds[step - 10], strlen(cmds[step - 10]), t);
    dev.tick(t, true);
    for (int m : port.acks) dev.onPuback(m, t);
    port.acks.clear();
  }
  dev.shutdown(t);
}

void encoderEdges() {
  char body[1024], out[1100];
  const char* details[] = {"quote \" backslash \\ newline \n tab \t nul-free control \x01 end", "ปั๊มแห้ง: ตรวจระดับน้ำในบ่อ", "\xff\xfe invalid utf-8"};
  for (const char* d : details) {
    sy::EncodeResult e = sy::encodeEventBody("state", false, sy::Fault::None, d, body, sizeof body);
    e = sy::withTs(kEpoch, body, e.len, out, sizeof out);
    line("farm/ranong-01/pump/pump-1/event", false, out, e.len);
  }
  std::string longDetail(700, 'x');
  sy::EncodeResult e = sy::encodeEventBody(std::string(80, 't').c_str(), true, sy::Fault::LockedRotor, longDetail.c_str(), body, sizeof body);
  e = sy::withTs(sy::kMaxTsMs, body, e.len, out, sizeof out);
  line("farm/ranong-01/pump/pump-1/event", false, out, e.len);
  e = sy::encodeAck("\xE0\xB8\x81\"\\", 5, false, std::string(300, 'e').c_str(), out, sizeof out);
  line("farm/ranong-01/pump/pump-1/cmd/ack", false, out, e.len);
  e = sy::encodeStatus(true, sy::kMinTsMs, 4294967295u, std::string(100, 'f').c_str(), out, sizeof out);
  line("farm/ranong-01/pump/pump-1/status", true, out, e.len);
}

}  // namespace

int printSamples() {
  const sy::Kind kinds[] = {sy::Kind::Pump, sy::Kind::Soil, sy::Kind::Waterbank};
  for (sy::Kind k : kinds) {
    for (int mode = 0; mode < 3; mode++) runDevice(k, mode);
  }
  encoderEdges();
  return 0;
}
