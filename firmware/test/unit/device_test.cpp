#include <string>

#include "check.h"
#include "device.h"
#include "fakes.h"

using namespace sy;

namespace {

struct Plant : Sensors, PumpDrive {
  bool running = false;
  bool dry = false;
  bool readPump(int64_t, PumpSensors& o) override {
    o.voc_v = 80;
    o.available_w = 400;
    o.pv_v = running ? 60 : 80;
    o.pv_w = running ? (dry ? 140 : 400) : 0;
    o.pv_a = o.pv_w / o.pv_v;
    o.motor_rpm = running ? 3600 : 0;
    o.flow_lpm = running && !dry ? 40 : 0;
    o.pressure_bar = running ? 2.1 : 0;
    o.ctrl_temp_c = 45;
    return true;
  }
  bool readSoil(int64_t, SoilSensors& o) override {
    o.raw_adc = 2400;
    o.soil_temp_c = 27.5;
    o.battery_v = 3.9;
    return true;
  }
  void drive(bool run, double) override { running = run; }
};

struct Obs : DeviceObserver {
  std::vector<std::string> channels;
  std::vector<int64_t> ts;
  std::vector<bool> held;
  void stored_(Channel ch, int64_t t, bool h) {
    channels.push_back(channelName(ch));
    ts.push_back(t);
    held.push_back(h);
  }
  void stored(Channel ch, uint32_t, int64_t t, int64_t, bool h) override { stored_(ch, t, h); }
};

const int64_t kEpoch = 1772323200000LL;  // 2026-03-01T00:00:00Z

struct Rig {
  RamFlash flash{16 * 4096, 4096};
  RamNvs nvs;
  FakePort port;
  Plant plant;
  Obs obs;
  DeviceConfig cfg;
  Rig(Kind kind = Kind::Pump) {
    cfg.farm = "farm-1";
    cfg.kind = kind;
    cfg.device = kind == Kind::Pump ? "pump-1" : "soil-1";
    cfg.password = "secret";
  }
};

// begin(), the clock synced at kEpoch, connected.
void online(Device& d) {
  CHECK(d.begin(0));
  d.onTimeSynced(kEpoch, 0);
  d.tick(0, true);
  d.onConnected(0);
}

std::vector<std::string> payloadsOf(const FakePort& p, const std::string& suffix) {
  std::vector<std::string> out;
  for (const FakePort::Pub& x : p.on(suffix)) out.push_back(x.payload);
  return out;
}

}  // namespace

TEST(device_holds_readings_until_sync_and_stamps_them_with_the_time_they_were_taken) {
  Rig r;
  Device d(r.cfg, r.flash, r.nvs, r.port, r.plant, &r.plant, &r.obs);
  CHECK(d.begin(0));
  for (int64_t t = 0; t <= 20000; t += 100) d.tick(t, true);
  CHECK(r.obs.channels.empty());  // nothing is stamped, nothing stored, nothing sent
  CHECK_EQ(r.port.connects, 0);
  d.onTimeSynced(kEpoch + 20000, 20000);
  CHECK(!r.obs.channels.empty());
  // The boot event and the first readings, at their own times: mono 0 -> kEpoch.
  CHECK_EQ(r.obs.channels.at(0), std::string("event"));
  CHECK_EQ(r.obs.ts.at(0), kEpoch);
  bool sawTelemetryAt0 = false;
  for (size_t i = 0; i < r.obs.channels.size(); i++) {
    CHECK(r.obs.held[i]);
    CHECK(r.obs.ts[i] >= kEpoch && r.obs.ts[i] <= kEpoch + 20000);
    if (r.obs.channels[i] == "telemetry" && r.obs.ts[i] == kEpoch) sawTelemetryAt0 = true;
  }
  CHECK(sawTelemetryAt0);
  d.tick(20100, true);
  CHECK_EQ(r.port.connects, 1);
  d.onConnected(20100);
  d.tick(25000, true);
  std::vector<std::string> tele = payloadsOf(r.port, "/telemetry");
  CHECK(!tele.empty());
  CHECK_EQ(tele.at(0).rfind("{\"ts\":1772323200000,\"seq\":0,\"boot\":1,", 0), size_t(0));
}

TEST(device_counts_boots_durably_and_starts_seq_again) {
  Rig r;
  {
    Device d(r.cfg, r.flash, r.nvs, r.port, r.plant, &r.plant, &r.obs);
    CHECK(d.begin(0));
    d.onTimeSynced(kEpoch, 0);
    for (int64_t t = 0; t <= 30000; t += 1000) d.tick(t, false);
    CHECK_EQ(d.boot(), uint32_t(1));
    CHECK(d.seq() > 3);
  }
  Device again(r.cfg, r.flash, r.nvs, r.port, r.plant, &r.plant, &r.obs);
  CHECK(again.begin(0));
  CHECK_EQ(again.boot(), uint32_t(2));
  CHECK_EQ(again.seq(), uint32_t(0));
  CHECK_EQ(again.ring().unacked(), r.obs.channels.size());  // nothing sent yet: all kept
  RamNvs broken;
  broken.fail = true;
  Device never(r.cfg, r.flash, broken, r.port, r.plant, &r.plant, &r.obs);
  CHECK(!never.begin(0));  // a boot number that might be used twice: no readings at all
}

TEST(device_timestamps_are_strictly_increasing_per_channel) {
  Rig r;
  Device d(r.cfg, r.flash, r.nvs, r.port, r.plant, &r.plant, &r.obs);
  CHECK(d.begin(0));
  d.onTimeSynced(kEpoch, 0);
  for (int64_t t = 0; t <= 10000; t += 1000) d.tick(t, false);
  int64_t last[2] = {0, 0};
  for (size_t i = 0; i < r.obs.channels.size(); i++) {
    int c = r.obs.channels[i] == "event" ? 1 : 0;
    CHECK(r.obs.ts[i] > last[c]);
    last[c] = r.obs.ts[i];
  }
}

static void command(Device& d, const std::string& json, int64_t t) {
  d.onMessage("farm/farm-1/pump/pump-1/cmd", json.data(), json.size(), t);
}

TEST(device_acknowledges_every_command_once_per_id) {
  Rig r;
  Device d(r.cfg, r.flash, r.nvs, r.port, r.plant, &r.plant, &r.obs);
  online(d);
  for (int64_t t = 0; t <= 5000; t += 1000) d.tick(t, true);
  CHECK(d.pump().mode == PumpState::Running);
  command(d, "{\"id\":\"c1\",\"cmd\":\"stop\"}", 5000);
  CHECK(d.pump().mode == PumpState::Off && !r.plant.running);
  command(d, "{\"id\":\"c1\",\"cmd\":\"stop\"}", 5100);  // redelivered
  command(d, "{\"id\":\"c2\",\"cmd\":\"start\"}", 5200);
  command(d, "{\"id\":\"c3\",\"cmd\":\"set_interval\",\"args\":{\"seconds\":30,\"idle_seconds\":600}}", 5300);
  command(d, "{\"id\":\"c4\",\"cmd\":\"set_interval\",\"args\":{\"seconds\":0}}", 5400);
  command(d, "{\"id\":\"c5\",\"cmd\":\"launch\"}", 5500);
  command(d, "{oops", 5600);
  std::vector<std::string> acks = payloadsOf(r.port, "/cmd/ack");
  std::vector<std::string> want = {
      "{\"id\":\"c1\",\"ok\":true}",
      "{\"id\":\"c1\",\"ok\":true}",
      "{\"id\":\"c2\",\"ok\":true}",
      "{\"id\":\"c3\",\"ok\":true}",
      "{\"id\":\"c4\",\"ok\":false,\"error\":\"args.seconds must be an integer from 1 to 86400\"}",
      "{\"id\":\"c5\",\"ok\":false,\"error\":\"cmd: must be one of start, stop, reset, set_interval, reboot\"}",
      "{\"id\":\"invalid\",\"ok\":false,\"error\":\"malformed JSON\"}",
  };
  CHECK(acks == want);
  CHECK_EQ(d.intervalS(), uint32_t(30));
  uint32_t saved = 0;
  CHECK(r.nvs.getU32("idle_s", saved) && saved == 600);
  // stop, then start: two state events besides the boot and the first start.
  int stops = 0;
  for (const std::string& e : r.obs.channels) stops += e == "event";
  CHECK(stops >= 4);
}

TEST(device_reboots_once_the_ack_of_reboot_is_delivered) {
  Rig r;
  Device d(r.cfg, r.flash, r.nvs, r.port, r.plant, &r.plant, &r.obs);
  online(d);
  command(d, "{\"id\":\"r\",\"cmd\":\"reboot\"}", 100);
  CHECK(!d.wantsReboot(200));
  d.onPuback(r.port.on("/cmd/ack").at(0).mid, 300);
  CHECK(d.wantsReboot(300));
}

TEST(device_other_kinds_have_no_pump) {
  Rig r(Kind::Soil);
  Device d(r.cfg, r.flash, r.nvs, r.port, r.plant, nullptr, &r.obs);
  online(d);
  std::string stop = "{\"id\":\"s\",\"cmd\":\"stop\"}", reset = "{\"id\":\"r\",\"cmd\":\"reset\"}";
  d.onMessage("farm/farm-1/soil/soil-1/cmd", stop.data(), stop.size(), 10);
  d.onMessage("farm/farm-1/soil/soil-1/cmd", reset.data(), reset.size(), 10);
  std::vector<std::string> acks = payloadsOf(r.port, "/cmd/ack");
  CHECK_EQ(acks.at(0), std::string("{\"id\":\"s\",\"ok\":false,\"error\":\"a soil device has no pump to stop\"}"));
  CHECK_EQ(acks.at(1), std::string("{\"id\":\"r\",\"ok\":true}"));
  for (int64_t t = 0; t <= 1800 * 1000; t += 1000) d.tick(t, true);
  CHECK_EQ(d.seq(), uint32_t(3));  // every 15 min: at 0, 15 and 30 min
}

TEST(device_pump_dry_run_latch_survives_a_reboot) {
  Rig r;
  r.plant.dry = true;
  {
    Device d(r.cfg, r.flash, r.nvs, r.port, r.plant, &r.plant, &r.obs);
    CHECK(d.begin(0));
    d.onTimeSynced(kEpoch + 3600000, 0);  // 08:00 local
    for (int64_t t = 0; t <= 7 * 3600 * 1000; t += 1000) d.tick(t, false);
    CHECK(d.pump().latched);
  }
  Device again(r.cfg, r.flash, r.nvs, r.port, r.plant, &r.plant, &r.obs);
  CHECK(again.begin(0));
  CHECK(again.pump().latched && again.pump().mode == PumpState::Fault);
  again.onTimeSynced(kEpoch + 8 * 3600000, 0);
  for (int64_t t = 0; t <= 3600 * 1000; t += 1000) again.tick(t, false);
  CHECK(again.pump().latched && !r.plant.running);
}

TEST(device_a_deep_sleep_wake_keeps_boot_and_seq_a_power_cut_does_not) {
  Rig r(Kind::Soil);
  WakeState kept;
  {
    Device d(r.cfg, r.flash, r.nvs, r.port, r.plant, nullptr, &r.obs);
    CHECK(d.begin(0));
    d.onTimeSynced(kEpoch, 0);
    for (int64_t t = 0; t <= 1800 * 1000; t += 1000) d.tick(t, false);
    kept = d.sleepState();
    CHECK_EQ(kept.boot, uint32_t(1));
    CHECK_EQ(kept.seq, uint32_t(3));
  }
  Device woke(r.cfg, r.flash, r.nvs, r.port, r.plant, nullptr, &r.obs);
  CHECK(woke.begin(0, kept));
  CHECK_EQ(woke.boot(), uint32_t(1));
  CHECK_EQ(woke.seq(), uint32_t(3));
  WakeState stale = kept;
  stale.boot = 7;  // RTC memory from another life: an ordinary boot
  Device cut(r.cfg, r.flash, r.nvs, r.port, r.plant, nullptr, &r.obs);
  CHECK(cut.begin(0, stale));
  CHECK_EQ(cut.boot(), uint32_t(2));
  CHECK_EQ(cut.seq(), uint32_t(0));
}

TEST(device_an_unsynced_clock_for_long_keeps_the_newest_readings_and_counts_the_rest) {
  Rig r;
  Device d(r.cfg, r.flash, r.nvs, r.port, r.plant, &r.plant, &r.obs);
  CHECK(d.begin(0));
  for (int64_t t = 0; t <= 600 * 1000; t += 1000) d.tick(t, true);  // 10 minutes, no SNTP
  const uint32_t taken = d.counters().readings + d.counters().events;
  CHECK(d.counters().droppedPreSync > 0);
  CHECK_EQ(d.counters().droppedPreSync + PreSyncHold::kSlots, taken);
  d.onTimeSynced(kEpoch + 600000, 600000);
  CHECK_EQ(r.obs.channels.size(), size_t(PreSyncHold::kSlots));
  for (size_t i = 1; i < r.obs.ts.size(); i++) CHECK(r.obs.ts[i] > r.obs.ts[i - 1]);
  CHECK(r.obs.ts.back() <= kEpoch + 600000 && r.obs.ts.front() >= kEpoch + 600000 - 24 * 60000);
}
