// A stand-in for a SIMCom SIM7600's MQTT(S) AT command set (firmware/core/at_mqtt.h has the
// dialogue), for `suanyang-host-device --link sim7600`: the core's AtMqttPort writes AT text
// into an in-process serial line, this fake reads it as the modem would and does the MQTT work
// with libmosquitto on the real broker. It is strict where the manual is: a command must be
// well formed with the right number and types of arguments in range, data after a '>' must be
// exactly the announced length (fewer bytes time out, more are read as a command), commands out
// of order get the manual's `+CMQTT...: 0,<err>` and ERROR. Like the modem: echo on until ATE0,
// the Will is never retained, a received message comes as +CMQTTRX* URCs with its payload in
// packets of at most 64 bytes, and the bytes reach the device in pieces of random size.
//
// The clock: AT+CNTP="<server>",<zone> then AT+CNTP (+CNTP: 0), then AT+CCLK? answers the true
// time in that zone; before an NTP sync it answers 80/01/06, as a modem fresh from power-up.
//
// A link outage on demand: while the outage file exists the session is dropped without a
// DISCONNECT (+CMQTTCONNLOST: 0,3; the broker publishes the Will) and connects fail with
// +CMQTTCONNECT: 0,3.
#pragma once
#include <mosquitto.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "at_mqtt.h"

// The serial line, in process: what the device writes is what the modem reads.
class LoopLine : public sy::SerialLine {
 public:
  size_t write(const char* data, size_t len) override {
    toModem.append(data, len);
    return len;
  }
  // Pieces of 1-48 bytes (a seeded xorshift): a URC is often split across reads.
  size_t read(char* out, size_t cap) override;
  std::string toModem, toDevice;

 private:
  uint32_t rng_ = 0x9e3779b9u;
};

class FakeSim7600 {
 public:
  // log: one JSON line per thing worth knowing (a violation, an error, a link change).
  FakeSim7600(LoopLine& line, std::function<void(const std::string&)> log) : line_(line), log_(std::move(log)) {}
  ~FakeSim7600();
  void setOutageFile(const std::string& path) { outageFile_ = path; }
  // The network's true time (UTC ms), what AT+CNTP sets the modem's clock to.
  void setTrueClock(std::function<int64_t()> epochMs) { trueClock_ = std::move(epochMs); }
  // Reads what the device wrote, runs the MQTT client up to timeoutMs, answers.
  void loop(int timeoutMs);
  // Malformed commands, wrong lengths, unknown commands (never sent by a correct driver).
  uint32_t violations() const { return violations_; }
  // Commands refused for the state they came in (some are expected: DISC with no session).
  uint32_t stateErrors() const { return stateErrors_; }

 private:
  struct Arg {
    bool quoted;
    std::string s;
    long n;
  };
  enum class Conn { None, Connecting, Up, Disconnecting };

  void input(char c);
  void command(const std::string& cmd);
  void mqttCommand(const std::string& name, const std::string& rest, bool hasArgs);
  bool parseArgs(const std::string& s, std::vector<Arg>& out);
  bool shape(const std::vector<Arg>& a, const char* req, const char* opt = "");
  void prompt(size_t n, std::function<void(const std::string&)> then);
  void ok() { say("\r\nOK\r\n"); }
  void error() { say("\r\nERROR\r\n"); }
  void urc(const std::string& s) { say("\r\n" + s + "\r\n"); }
  void violation(const std::string& cmd, const std::string& why);
  void refuse(const std::string& name, int err, bool withClient = true);
  void say(const std::string& s) { out_ += s; }
  void drop(bool graceful);
  void checkOutage();
  void message(const struct mosquitto_message* msg);
  static double nowMs();
  static void onConnect(struct mosquitto*, void* self, int rc);
  static void onDisconnect(struct mosquitto*, void* self, int rc);
  static void onPublish(struct mosquitto*, void* self, int mid);
  static void onSubscribe(struct mosquitto*, void* self, int mid, int, const int*);
  static void onMessage(struct mosquitto*, void* self, const struct mosquitto_message* msg);

  LoopLine& line_;
  std::function<void(const std::string&)> log_;
  std::string outageFile_;
  std::function<int64_t()> trueClock_;
  bool ntpSet_ = false, ntpDone_ = false;
  long ntpZone_ = 0;  // quarter hours
  bool outage_ = false;
  double outageCheckedMs_ = 0;
  uint32_t violations_ = 0, stateErrors_ = 0;

  std::string cmd_;
  std::string out_;  // answers and URCs not yet on the line
  // Data after a '>'.
  size_t dataNeed_ = 0;
  std::string data_;
  double dataDeadlineMs_ = 0;
  std::function<void(const std::string&)> onData_;

  bool echo_ = true, started_ = false, acquired_ = false, ssl_ = false;
  std::string clientId_, apn_;
  std::string willTopic_, willMsg_;
  int willQos_ = 0;
  struct mosquitto* m_ = nullptr;
  Conn conn_ = Conn::None;
  bool connLost_ = false;
  double connectDeadlineMs_ = 0;
  std::string pubTopic_, pubPayload_;
  bool pubPending_ = false;
  int pubMid_ = 0;
  double pubDeadlineMs_ = 0;
  std::string subTopic_;
  int subQos_ = 0;
  bool subPending_ = false;
  int subMid_ = 0;
};
