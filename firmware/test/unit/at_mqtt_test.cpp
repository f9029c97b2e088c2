// AtMqttPort (core/at_mqtt.h) against a scripted modem: the exact commands it writes, the data
// it sends only after a '>' prompt, the modem's answers fed back in pieces of any size (a URC
// split across reads), a received payload holding "\r\nOK\r\n" and "\r\n>", a message whose
// byte counts do not add up, one too long for its buffer, a modem that stops answering.
#include <algorithm>
#include <string>
#include <vector>

#include "at_mqtt.h"
#include "check.h"

using namespace sy;

namespace {

struct ScriptLine : SerialLine {
  std::string written;  // what the port wrote since the last take()
  std::string pending;  // what the modem says next
  size_t chunk = 4096;  // bytes per read()
  size_t writeCap = 1 << 20;  // bytes per write()
  size_t write(const char* d, size_t n) override {
    const size_t k = std::min(n, writeCap);
    written.append(d, k);
    return k;
  }
  size_t read(char* out, size_t cap) override {
    const size_t k = std::min({cap, chunk, pending.size()});
    pending.copy(out, k);
    pending.erase(0, k);
    return k;
  }
};

struct Events : MqttEvents {
  int connects = 0, losses = 0;
  std::vector<int64_t> clocks;
  void clock(int64_t epochMs, int64_t) override { clocks.push_back(epochMs); }
  std::vector<int> acks;
  std::vector<std::pair<std::string, std::string>> messages;
  void connected(int64_t) override { connects++; }
  void connectionLost(int64_t) override { losses++; }
  void puback(int mid, int64_t) override { acks.push_back(mid); }
  void message(const char* t, const char* p, size_t n, int64_t) override { messages.emplace_back(t, std::string(p, n)); }
};

const char* kWillTopic = "farm/f/pump/d/status";
const char* kWill = "{\"online\":false}";

ModemConfig testConfig() {
  ModemConfig cfg;
  cfg.host = "broker.example";
  cfg.cmdTimeoutMs = 1000;
  cfg.connectTimeoutMs = 5000;
  cfg.registerTimeoutMs = 3000;
  cfg.registerRetryMs = 500;
  return cfg;
}

struct Rig {
  ScriptLine line;
  AtMqttPort at{line, testConfig()};
  AtMqttPort* port = &at;
  Events ev;
  int64_t t = 0;
  Rig() { port->attach(&ev); }
  void poll(int n = 1) {
    for (int i = 0; i < n; i++) {
      port->poll(t);
      t += 10;
    }
  }
  // Everything pending read, in as many polls as it takes.
  void drain() {
    for (int i = 0; i < 100000 && !line.pending.empty(); i++) poll();
    poll();
  }
  std::string take() {
    std::string w = line.written;
    line.written.clear();
    return w;
  }
  // The modem says `reply`; returns what the port wrote in answer.
  std::string step(const std::string& reply) {
    line.pending += reply;
    drain();
    return take();
  }
  void startConnect() { CHECK(port->connect("dev-1", "dev-1", "secret", MqttPort::Will{kWillTopic, kWill, strlen(kWill)})); }
  // The whole setup, each command checked; ends connected.
  void connect() {
    const int before = ev.connects;
    startConnect();
    poll();
    CHECK_EQ(take(), std::string("AT\r"));
    CHECK_EQ(step("AT\r\r\nOK\r\n"), std::string("ATE0\r"));  // echo on until ATE0
    CHECK_EQ(step("ATE0\r\r\nOK\r\n"), std::string("AT+CGDCONT=1,\"IP\",\"internet\"\r"));
    CHECK_EQ(step("\r\nOK\r\n"), std::string("AT+CEREG?\r"));
    CHECK_EQ(step("\r\n+CEREG: 0,1\r\n\r\nOK\r\n"), std::string("AT+CMQTTSTART\r"));
    CHECK_EQ(step("\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n"), std::string("AT+CMQTTDISC=0,10\r"));
    CHECK_EQ(step("\r\n+CMQTTDISC: 0,11\r\n\r\nERROR\r\n"), std::string("AT+CMQTTREL=0\r"));  // nothing left over
    CHECK_EQ(step("\r\n+CMQTTREL: 0,20\r\n\r\nERROR\r\n"), std::string("AT+CMQTTACCQ=0,\"dev-1\",0\r"));
    CHECK_EQ(step("\r\nOK\r\n"), std::string("AT+CMQTTWILLTOPIC=0,20\r"));
    CHECK_EQ(step("\r\n>"), std::string(kWillTopic));
    CHECK_EQ(step("\r\nOK\r\n"), std::string("AT+CMQTTWILLMSG=0,16,1\r"));
    CHECK_EQ(step("\r\n>"), std::string(kWill));
    CHECK_EQ(step("\r\nOK\r\n"), std::string("AT+CMQTTCONNECT=0,\"tcp://broker.example:1883\",60,1,\"dev-1\",\"secret\"\r"));
    CHECK_EQ(step("\r\nOK\r\n"), std::string(""));
    CHECK_EQ(ev.connects, before);
    CHECK_EQ(step("\r\n+CMQTTCONNECT: 0,0\r\n"), std::string(""));
    CHECK_EQ(ev.connects, before + 1);
    CHECK(port->connected());
  }
  // Answers as a good modem would until the port writes a command starting with `prefix`.
  bool runUntil(const std::string& prefix) {
    std::string w = take();
    for (int i = 0; i < 40; i++) {
      if (w.rfind(prefix, 0) == 0) return true;
      const bool prompted = w.rfind("AT+CMQTTWILL", 0) == 0 || w.rfind("AT+CMQTTTOPIC", 0) == 0 || w.rfind("AT+CMQTTPAYLOAD", 0) == 0 ||
                            w.rfind("AT+CMQTTSUBTOPIC", 0) == 0;
      if (prompted) w = step("\r\n>");
      else if (w.rfind("AT+CEREG?", 0) == 0) w = step("\r\n+CEREG: 0,1\r\n\r\nOK\r\n");
      else if (w.rfind("AT+CMQTTSTART", 0) == 0) w = step("\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n");
      else if (w.rfind("AT+CMQTTDISC", 0) == 0) w = step("\r\nOK\r\n\r\n+CMQTTDISC: 0,0\r\n");
      else if (w == "AT+CNTP\r") w = step("\r\nOK\r\n\r\n+CNTP: 0\r\n");
      else w = step("\r\nOK\r\n");
    }
    return false;
  }
  // One publish exchange, from the queue's head, answered as a good modem would.
  void publishExchange(const std::string& topic, const std::string& payload, int retain) {
    CHECK_EQ(take(), "AT+CMQTTTOPIC=0," + std::to_string(topic.size()) + "\r");
    CHECK_EQ(step("\r\n>"), topic);
    CHECK_EQ(step("\r\nOK\r\n"), "AT+CMQTTPAYLOAD=0," + std::to_string(payload.size()) + "\r");
    CHECK_EQ(step("\r\n>"), payload);
    CHECK_EQ(step("\r\nOK\r\n"), "AT+CMQTTPUB=0,1,20," + std::to_string(retain) + "\r");
    CHECK_EQ(step("\r\nOK\r\n"), std::string(""));
  }
};

std::string rxUrc(const std::string& topic, const std::string& payload) {
  return "\r\n+CMQTTRXSTART: 0," + std::to_string(topic.size()) + "," + std::to_string(payload.size()) + "\r\n+CMQTTRXTOPIC: 0," +
         std::to_string(topic.size()) + "\r\n" + topic + "\r\n+CMQTTRXPAYLOAD: 0," + std::to_string(payload.size()) + "\r\n" + payload +
         "\r\n+CMQTTRXEND: 0\r\n";
}

}  // namespace

TEST(at_setup_speaks_the_manuals_dialogue_and_connects) {
  Rig r;
  r.connect();
  CHECK_EQ(r.ev.losses, 0);
  CHECK_EQ(r.port->counters().errors, 2u);  // the DISC and REL of a session that was not there
}

TEST(at_publish_sends_data_only_after_the_prompt_and_acks_on_the_result_code) {
  Rig r;
  r.connect();
  CHECK_EQ(r.port->publish("farm/f/pump/d/status", "{\"online\":true}", 15, true), 1);
  CHECK_EQ(r.port->publish("farm/f/pump/d/telemetry", "{\"seq\":0}", 9, false), 2);
  r.poll();
  r.publishExchange("farm/f/pump/d/status", "{\"online\":true}", 1);
  CHECK(r.ev.acks.empty());  // OK is not the PUBACK
  CHECK_EQ(r.step("\r\n+CMQTTPUB: 0,0\r\n"), std::string("AT+CMQTTTOPIC=0,23\r"));
  CHECK(r.ev.acks == std::vector<int>{1});
  r.line.written = "AT+CMQTTTOPIC=0,23\r";
  r.publishExchange("farm/f/pump/d/telemetry", "{\"seq\":0}", 0);
  r.step("\r\n+CMQTTPUB: 0,0\r\n");
  CHECK(r.ev.acks == (std::vector<int>{1, 2}));
}

TEST(at_a_command_written_in_pieces_waits_for_its_prompt) {
  Rig r;
  r.connect();
  r.line.writeCap = 3;  // the UART's buffer takes 3 bytes a poll
  r.port->publish("a/b", "xyz", 3, false);
  for (int i = 0; i < 10; i++) r.poll();
  CHECK_EQ(r.take(), std::string("AT+CMQTTTOPIC=0,3\r"));
  CHECK_EQ(r.step("\r\n> "), std::string("a/b"));
}

TEST(at_a_message_split_at_every_byte_with_ok_and_a_prompt_inside_its_payload) {
  const std::string topic = "farm/f/pump/d/cmd";
  const std::string payload = "{\"id\":\"a\r\nOK\r\n\r\n>\r\nERROR\r\n+CMQTTCONNLOST: 0,1\r\n\",\"cmd\":\"stop\"}";
  for (size_t chunk = 1; chunk <= 40; chunk++) {
    Rig r;
    r.connect();
    r.port->publish("a/b", "xyz", 3, false);
    r.poll();
    CHECK_EQ(r.take(), std::string("AT+CMQTTTOPIC=0,3\r"));
    // While the port waits for its '>', the message comes, in pieces of `chunk` bytes.
    r.line.chunk = chunk;
    CHECK_EQ(r.step(rxUrc(topic, payload)), std::string(""));  // nothing in it is the prompt
    CHECK_EQ(r.step("\r\n>"), std::string("a/b"));
    CHECK_EQ(r.ev.messages.size(), 1u);
    if (r.ev.messages.size() == 1) {
      CHECK_EQ(r.ev.messages[0].first, topic);
      CHECK_EQ(r.ev.messages[0].second, payload);
    }
    CHECK_EQ(r.ev.losses, 0);
    CHECK_EQ(r.port->counters().rxDropped, 0u);
  }
}

TEST(at_a_message_whose_lengths_do_not_add_up_is_dropped_and_the_next_delivered) {
  Rig r;
  r.connect();
  // RXSTART announces 10 payload bytes; the payload packet brings 8.
  r.step("\r\n+CMQTTRXSTART: 0,3,10\r\n+CMQTTRXTOPIC: 0,3\r\na/b\r\n+CMQTTRXPAYLOAD: 0,8\r\n12345678\r\n+CMQTTRXEND: 0\r\n");
  CHECK(r.ev.messages.empty());
  CHECK_EQ(r.port->counters().rxDropped, 1u);
  // A payload packet that says 4 but the modem sends 6: the two extra bytes are read as a line.
  r.step("\r\n+CMQTTRXSTART: 0,3,4\r\n+CMQTTRXTOPIC: 0,3\r\na/b\r\n+CMQTTRXPAYLOAD: 0,4\r\n123456\r\n+CMQTTRXEND: 0\r\n");
  CHECK_EQ(r.ev.messages.size(), 1u);  // 4 bytes as announced: "1234"; "56" is a stray line
  if (!r.ev.messages.empty()) CHECK_EQ(r.ev.messages[0].second, std::string("1234"));
  // An unreadable count: the message is dropped, and what follows is still understood.
  r.step("\r\n+CMQTTRXSTART: 0,3,2\r\n+CMQTTRXTOPIC: 0,x\r\na/b\r\n+CMQTTRXPAYLOAD: 0,2\r\nhi\r\n+CMQTTRXEND: 0\r\n");
  CHECK_EQ(r.ev.messages.size(), 1u);
  CHECK_EQ(r.port->counters().rxDropped, 2u);
  r.step(rxUrc("a/b", "ok"));
  CHECK_EQ(r.ev.messages.size(), 2u);
  CHECK_EQ(r.ev.losses, 0);
}

TEST(at_a_message_longer_than_its_buffer_is_dropped_without_losing_the_framing) {
  Rig r;
  r.connect();
  std::string big(AtMqttPort::kRxPayloadMax + 100, 'x');
  for (size_t i = 0; i < big.size(); i += 50) big.replace(i, 6, "\r\nOK\r\n");
  r.port->publish("a/b", "xyz", 3, false);
  r.poll();
  r.take();
  r.line.chunk = 7;
  CHECK_EQ(r.step(rxUrc("a/b", big) + "\r\n>"), std::string("a/b"));
  CHECK(r.ev.messages.empty());
  CHECK_EQ(r.port->counters().rxDropped, 1u);
  CHECK_EQ(r.ev.losses, 0);
}

TEST(at_a_modem_that_does_not_answer_times_out_and_the_uplink_hears_of_it) {
  Rig r;
  r.startConnect();
  for (int i = 0; i < 1000; i++) r.poll();  // 10 s: AT tried 5 times, 1 s each
  CHECK_EQ(r.take(), std::string("AT\rAT\rAT\rAT\rAT\r"));
  CHECK_EQ(r.port->counters().timeouts, 5u);
  CHECK_EQ(r.ev.losses, 1);
  CHECK(r.port->idle());
  // In a session: a PUBACK that never comes.
  Rig s;
  s.connect();
  s.port->publish("a/b", "xyz", 3, false);
  s.poll();
  s.publishExchange("a/b", "xyz", 0);
  for (int i = 0; i < 400; i++) s.poll();
  CHECK_EQ(s.ev.losses, 0);
  for (int i = 0; i < 200; i++) s.poll();  // past connectTimeoutMs (5 s)
  CHECK_EQ(s.ev.losses, 1);
  CHECK(s.ev.acks.empty());
  CHECK_EQ(s.port->counters().timeouts, 1u);
  CHECK_EQ(s.port->publish("a/b", "x", 1, false), 0);  // no session
}

TEST(at_registration_is_asked_again_until_it_comes_or_its_time_runs_out) {
  Rig r;
  r.startConnect();
  r.poll();
  r.take();
  r.step("\r\nOK\r\n");
  r.step("\r\nOK\r\n");
  CHECK_EQ(r.step("\r\nOK\r\n"), std::string("AT+CEREG?\r"));
  CHECK_EQ(r.step("\r\n+CEREG: 0,2\r\n\r\nOK\r\n"), std::string(""));  // searching
  for (int i = 0; i < 50; i++) r.poll();
  CHECK_EQ(r.take(), std::string("AT+CEREG?\r"));
  CHECK_EQ(r.step("\r\n+CEREG: 0,5\r\n\r\nOK\r\n"), std::string("AT+CMQTTSTART\r"));  // roaming will do
  Rig s;
  s.startConnect();
  s.poll();
  s.take();
  s.step("\r\nOK\r\n");
  s.step("\r\nOK\r\n");
  s.step("\r\nOK\r\n");
  for (int i = 0; i < 10 && s.ev.losses == 0; i++) {
    s.step("\r\n+CEREG: 0,0\r\n\r\nOK\r\n");
    for (int k = 0; k < 60; k++) s.poll();
  }
  CHECK_EQ(s.ev.losses, 1);
  CHECK(s.port->idle());
}

TEST(at_an_error_in_the_setup_or_a_refused_connect_is_a_lost_connection) {
  Rig r;
  r.startConnect();
  r.poll();
  r.take();
  for (const char* ok : {"\r\nOK\r\n", "\r\nOK\r\n", "\r\nOK\r\n", "\r\n+CEREG: 0,1\r\n\r\nOK\r\n", "\r\n+CMQTTSTART: 23\r\n\r\nERROR\r\n",
                         "\r\nERROR\r\n"}) {
    r.step(ok);
  }
  CHECK_EQ(r.take(), std::string(""));
  CHECK_EQ(r.step("\r\nERROR\r\n"), std::string("AT+CMQTTACCQ=0,\"dev-1\",0\r"));  // REL: tolerated
  CHECK_EQ(r.step("\r\n+CMQTTACCQ: 0,19\r\n\r\nERROR\r\n"), std::string(""));
  CHECK_EQ(r.ev.losses, 1);
  CHECK(r.port->idle());
  // Bad credentials: +CMQTTCONNECT: 0,30 after the OK.
  Rig s;
  s.startConnect();
  s.poll();
  CHECK(s.runUntil("AT+CMQTTCONNECT"));
  s.step("\r\nOK\r\n\r\n+CMQTTCONNECT: 0,30\r\n");
  CHECK_EQ(s.ev.connects, 0);
  CHECK_EQ(s.ev.losses, 1);
}

TEST(at_connlost_ends_the_session_and_a_new_connect_runs_the_setup_again) {
  Rig r;
  r.connect();
  r.port->subscribe("farm/f/pump/d/cmd");
  r.poll();
  CHECK_EQ(r.take(), std::string("AT+CMQTTSUBTOPIC=0,17,1\r"));
  CHECK_EQ(r.step("\r\n>"), std::string("farm/f/pump/d/cmd"));
  CHECK_EQ(r.step("\r\nOK\r\n"), std::string("AT+CMQTTSUB=0\r"));
  r.step("\r\nOK\r\n\r\n+CMQTTSUB: 0,0\r\n");
  r.port->publish("a/b", "xyz", 3, false);
  r.poll();
  r.take();
  r.step("\r\n+CMQTTCONNLOST: 0,1\r\n");
  CHECK_EQ(r.ev.losses, 1);
  CHECK(!r.port->connected());
  CHECK_EQ(r.port->publish("a/b", "x", 1, false), 0);
  r.step("\r\n>\r\nOK\r\n");  // the rest of the cut exchange: ignored, no session
  r.connect();
  CHECK_EQ(r.ev.connects, 2);
}

TEST(at_a_graceful_disconnect_sends_what_is_queued_then_closes) {
  Rig r;
  r.connect();
  r.port->publish("farm/f/pump/d/status", "{\"online\":false}", 16, true);
  r.port->disconnect(true);
  CHECK_EQ(r.port->publish("a/b", "x", 1, false), 0);
  r.poll();
  r.publishExchange("farm/f/pump/d/status", "{\"online\":false}", 1);
  CHECK_EQ(r.step("\r\n+CMQTTPUB: 0,0\r\n"), std::string("AT+CMQTTDISC=0,10\r"));
  CHECK(r.ev.acks == std::vector<int>{1});
  CHECK_EQ(r.step("\r\nOK\r\n\r\n+CMQTTDISC: 0,0\r\n"), std::string("AT+CMQTTREL=0\r"));
  CHECK(!r.port->idle());
  r.step("\r\nOK\r\n");
  CHECK(r.port->idle());
  CHECK_EQ(r.ev.losses, 0);  // asked for: not a loss
}

TEST(at_a_connect_while_closing_waits_for_the_release) {
  Rig r;
  r.connect();
  r.port->disconnect(false);
  r.poll();
  CHECK_EQ(r.take(), std::string("AT+CMQTTDISC=0,10\r"));
  r.startConnect();
  CHECK_EQ(r.step("\r\nOK\r\n\r\n+CMQTTDISC: 0,0\r\n"), std::string("AT+CMQTTREL=0\r"));
  CHECK_EQ(r.step("\r\nOK\r\n"), std::string("AT\r"));  // released: the new setup starts
}

TEST(at_refuses_what_it_cannot_say_and_a_full_queue) {
  Rig r;
  CHECK(!r.port->connect("dev-1", "dev-1", "pa\"ss", MqttPort::Will{kWillTopic, kWill, strlen(kWill)}));
  CHECK(!r.port->connect("dev-1", "dev-1", "pa\r\nss", MqttPort::Will{kWillTopic, kWill, strlen(kWill)}));
  CHECK_EQ(r.port->publish("a/b", "x", 1, false), 0);  // not connected
  r.connect();
  for (size_t i = 0; i < AtMqttPort::kQueue; i++) CHECK(r.port->publish("a/b", "x", 1, false) > 0);
  CHECK_EQ(r.port->publish("a/b", "x", 1, false), 0);
  std::string big(AtMqttPort::kPayloadMax + 1, 'x');
  CHECK_EQ(r.port->queued(), AtMqttPort::kQueue);
  CHECK_EQ(r.port->publish("a/b", big.data(), big.size(), false), 0);
}

TEST(at_the_clock_comes_from_the_modems_ntp_client_in_utc) {
  Rig r;
  CHECK(r.port->requestClock());
  r.poll();
  CHECK_EQ(r.take(), std::string("AT\r"));
  r.step("\r\nOK\r\n");
  r.step("\r\nOK\r\n");
  CHECK_EQ(r.step("\r\nOK\r\n"), std::string("AT+CEREG?\r"));
  CHECK_EQ(r.step("\r\n+CEREG: 0,1\r\n\r\nOK\r\n"), std::string("AT+CNTP=\"pool.ntp.org\",0\r"));
  CHECK_EQ(r.step("\r\nOK\r\n"), std::string("AT+CNTP\r"));
  CHECK_EQ(r.step("\r\nOK\r\n"), std::string(""));
  CHECK_EQ(r.step("\r\n+CNTP: 0\r\n"), std::string("AT+CCLK?\r"));
  // 07:30 at UTC+7 (28 quarter hours) is 00:30 UTC; 2026-12-04 is day 20791.
  r.step("\r\n+CCLK: \"26/12/04,07:30:15+28\"\r\n\r\nOK\r\n");
  CHECK(r.ev.clocks == std::vector<int64_t>{(20791LL * 86400 + 30 * 60 + 15) * 1000 + 500});
  CHECK(r.port->idle());
  CHECK_EQ(r.ev.losses, 0);
  // A modem that never synced says 1980: no clock. A malformed answer: no clock either.
  for (const char* cclk : {"+CCLK: \"80/01/06,00:00:12+00\"", "+CCLK: \"26/13/04,07:30:15+28\"", "+CCLK: \"26/12/04 07:30:15+28\""}) {
    Rig q;
    q.port->requestClock();
    q.poll();
    CHECK(q.runUntil("AT+CCLK?"));
    q.step(std::string("\r\n") + cclk + "\r\n\r\nOK\r\n");
    CHECK(q.ev.clocks.empty());
    CHECK(q.port->idle());
  }
  // A connect asked for meanwhile starts once the clock is read.
  Rig c;
  c.port->requestClock();
  c.poll();
  c.startConnect();
  CHECK(c.runUntil("AT+CCLK?"));
  CHECK_EQ(c.step("\r\n+CCLK: \"26/12/04,00:30:15+00\"\r\n\r\nOK\r\n"), std::string("AT\r"));
  CHECK_EQ(c.ev.clocks.size(), 1u);
  // A connect given up while the clock is read (the uplink's timeout): nothing to close, and the
  // next connect runs its setup through.
  Rig g;
  g.port->requestClock();
  g.poll();
  g.startConnect();
  g.port->disconnect(false);
  CHECK(g.runUntil("AT+CCLK?"));
  g.step("\r\n+CCLK: \"26/12/04,00:30:15+00\"\r\n\r\nOK\r\n");
  CHECK(g.port->idle());
  g.startConnect();
  g.poll();
  CHECK(g.runUntil("AT+CMQTTCONNECT"));
  g.step("\r\nOK\r\n\r\n+CMQTTCONNECT: 0,0\r\n");
  CHECK_EQ(g.ev.connects, 1);
}

TEST(at_a_payload_in_several_packets_is_put_together) {
  Rig r;
  r.connect();
  r.line.chunk = 5;
  r.step("\r\n+CMQTTRXSTART: 0,3,10\r\n+CMQTTRXTOPIC: 0,3\r\na/b\r\n+CMQTTRXPAYLOAD: 0,4\r\n0123\r\n+CMQTTRXPAYLOAD: 0,6\r\n45\r\n89\r\n+CMQTTRXEND: 0\r\n");
  CHECK_EQ(r.ev.messages.size(), 1u);
  if (!r.ev.messages.empty()) CHECK_EQ(r.ev.messages[0].second, std::string("012345\r\n89"));
}

TEST(at_a_drop_asked_for_in_the_middle_of_a_publish_closes_after_that_exchange) {
  Rig r;
  r.connect();
  r.port->publish("a/b", "xyz", 3, false);
  r.poll();
  CHECK_EQ(r.take(), std::string("AT+CMQTTTOPIC=0,3\r"));
  r.port->disconnect(false);
  CHECK_EQ(r.step("\r\n>"), std::string("a/b"));  // the modem takes its 3 bytes
  CHECK_EQ(r.step("\r\nOK\r\n"), std::string("AT+CMQTTDISC=0,10\r"));  // no payload, no PUB
  r.step("\r\nOK\r\n\r\n+CMQTTDISC: 0,0\r\n");
  r.step("\r\nOK\r\n");
  CHECK(r.port->idle());
  CHECK(r.ev.acks.empty());
  CHECK_EQ(r.ev.losses, 0);
}
