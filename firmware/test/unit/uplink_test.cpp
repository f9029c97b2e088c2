#include <string>

#include "check.h"
#include "fakes.h"
#include "uplink.h"

using namespace sy;

namespace {

struct Host : UplinkHost {
  int commands = 0;
  std::string lastCmd;
  std::vector<std::string> links;
  std::vector<int64_t> delays;
  bool synced = true;
  size_t statusPayload(bool online, int64_t monoMs, char* out, size_t cap) override {
    if (!synced) return 0;
    return static_cast<size_t>(snprintf(out, cap, "{\"online\":%s,\"ts\":%lld}", online ? "true" : "false", static_cast<long long>(monoMs)));
  }
  const char* topicFor(uint8_t) override { return "farm/f/pump/d/telemetry"; }
  void onCommand(const char* p, size_t n, int64_t) override {
    commands++;
    lastCmd.assign(p, n);
  }
  void onLink(const char* what, int64_t, int64_t detail) override {
    links.push_back(what);
    if (std::string(what) == "connection lost" || std::string(what) == "connect failed") delays.push_back(detail);
  }
};

struct Rig {
  RamFlash flash{32 * 4096, 4096};
  Ring ring{flash};
  FakePort port;
  Host host;
  UplinkConfig cfg;
  Uplink up{cfg, port, ring, host, 42};
  Rig() {
    cfg.statusTopic = "farm/f/pump/d/status";
    cfg.cmdTopic = "farm/f/pump/d/cmd";
    ring.mount();
  }
  void add(int i) {
    std::string p = "{\"seq\":" + std::to_string(i) + "}";
    RecordRef r;
    uint32_t d;
    ring.append(0, p.data(), static_cast<uint16_t>(p.size()), r, d);
  }
  std::vector<FakePort::Pub> telemetry() const { return port.on("/telemetry"); }
};

}  // namespace

TEST(uplink_connects_with_a_retained_will_and_births_and_subscribes) {
  Rig r;
  r.host.synced = false;
  r.up.tick(0, true);
  CHECK_EQ(r.port.connects, 0);  // no status without a synced clock: no connection either
  r.host.synced = true;
  r.up.tick(10, true);
  CHECK_EQ(r.port.connects, 1);
  CHECK_EQ(r.port.will, std::string("{\"online\":false,\"ts\":10}"));
  r.up.onConnected(20);
  CHECK(r.up.conn() == Uplink::Conn::Up);
  CHECK_EQ(r.port.pubs.at(0).topic, std::string("farm/f/pump/d/status"));
  CHECK_EQ(r.port.pubs.at(0).payload, std::string("{\"online\":true,\"ts\":20}"));
  CHECK(r.port.pubs.at(0).retain);
  CHECK_EQ(r.port.subs.at(0), std::string("farm/f/pump/d/cmd"));
  r.up.onMessage("farm/f/pump/d/cmd", "{\"id\":\"x\"}", 10, 30);
  r.up.onMessage("farm/f/pump/other/cmd", "{}", 2, 30);
  CHECK_EQ(r.host.commands, 1);
}

TEST(uplink_sends_at_most_10_unacknowledged_and_20_a_second_in_order) {
  Rig r;
  for (int i = 0; i < 100; i++) r.add(i);
  r.up.tick(0, true);
  r.up.onConnected(0);
  CHECK_EQ(r.telemetry().size(), size_t(1));  // the bucket starts with one token
  int64_t t = 0;
  size_t maxInflight = 0;
  while (r.ring.unacked() > 0 && t < 60000) {
    t += 50;
    r.up.tick(t, true);
    maxInflight = std::max(maxInflight, r.up.inflight());
    // The broker acknowledges everything in flight each 50 ms.
    std::vector<FakePort::Pub> sent = r.telemetry();
    for (const FakePort::Pub& p : sent) r.up.onPuback(p.mid, t);
  }
  CHECK(maxInflight <= Uplink::kMaxInflight);
  CHECK_EQ(r.ring.unacked(), uint32_t(0));
  std::vector<FakePort::Pub> sent = r.telemetry();
  CHECK_EQ(sent.size(), size_t(100));
  for (size_t i = 0; i < sent.size(); i++) CHECK_EQ(sent[i].payload, "{\"seq\":" + std::to_string(i) + "}");
  // 100 at 20 a second: about 5 s (the first one and a second's burst are free).
  CHECK(t >= 4000 && t <= 5500);
}

TEST(uplink_window_is_bounded_by_acknowledgements) {
  Rig r;
  for (int i = 0; i < 30; i++) r.add(i);
  r.cfg.replayPerS = 1000;
  r.up.tick(0, true);
  r.up.onConnected(0);
  for (int64_t t = 0; t < 5000; t += 100) r.up.tick(t, true);
  CHECK_EQ(r.telemetry().size(), size_t(10));  // no PUBACK: nothing more
  r.up.onPuback(r.telemetry().at(3).mid, 5000);
  CHECK_EQ(r.telemetry().size(), size_t(11));
}

TEST(uplink_resends_what_was_in_flight_after_a_reconnect_and_nothing_acknowledged) {
  Rig r;
  for (int i = 0; i < 5; i++) r.add(i);
  r.cfg.replayPerS = 1000;
  r.up.tick(0, true);
  r.up.onConnected(0);
  r.up.tick(1000, true);
  std::vector<FakePort::Pub> first = r.telemetry();
  CHECK_EQ(first.size(), size_t(5));
  r.up.onPuback(first[0].mid, 1000);
  r.up.onPuback(first[2].mid, 1000);
  r.up.onConnectionLost(1000);
  CHECK(r.up.conn() == Uplink::Conn::Down);
  r.port.pubs.clear();
  r.up.tick(1000 + 1500, true);  // the first retry comes 0.5-1.5 s later
  CHECK_EQ(r.port.connects, 2);
  r.up.onConnected(2600);
  r.up.tick(3000, true);
  std::vector<FakePort::Pub> again = r.telemetry();
  CHECK_EQ(again.size(), size_t(3));
  CHECK_EQ(again.at(0).payload, std::string("{\"seq\":1}"));
  CHECK_EQ(again.at(1).payload, std::string("{\"seq\":3}"));
  CHECK_EQ(again.at(2).payload, std::string("{\"seq\":4}"));
}

TEST(uplink_backs_off_1_s_doubling_to_60_s_with_jitter) {
  Rig r;
  r.port.refuseConnect = true;
  int64_t t = 0;
  for (int i = 0; i < 12; i++) {
    r.up.tick(t, true);
    t = r.up.retryAtMs();
  }
  CHECK_EQ(r.host.delays.size(), size_t(12));
  const double bases[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000, 60000, 60000};
  bool varied = false;
  for (size_t i = 0; i < r.host.delays.size(); i++) {
    double d = static_cast<double>(r.host.delays[i]);
    CHECK(d >= 0.5 * bases[i] && d < 1.5 * bases[i]);
    if (i > 6 && r.host.delays[i] != r.host.delays[i - 1]) varied = true;
  }
  CHECK(varied);
  r.port.refuseConnect = false;
  r.up.tick(t, true);
  r.up.onConnected(t);
  CHECK_EQ(r.up.attempts(), uint32_t(0));
  r.up.onConnectionLost(t);
  CHECK(r.host.delays.back() < 1500);  // a good connection resets the backoff
}

TEST(uplink_connect_that_never_answers_times_out) {
  Rig r;
  r.up.tick(0, true);
  CHECK(r.up.conn() == Uplink::Conn::Connecting);
  r.up.tick(29000, true);
  CHECK(r.up.conn() == Uplink::Conn::Connecting);
  r.up.tick(31000, true);
  CHECK(r.up.conn() == Uplink::Conn::Down);
  CHECK_EQ(r.port.disconnects, 1);
}
