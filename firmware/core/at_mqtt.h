// The core's MqttPort on a 4G modem's own MQTT client, driven by AT commands over a serial line
// (SIMCom SIM7500/SIM7600 series, "MQTT(S) AT Command Manual": AT+CMQTT*). The modem holds the
// TCP or TLS session; this class only speaks its command set, one exchange at a time, without
// allocating and without waiting: poll() reads what the modem sent, takes the next step, and
// gives every step a deadline. Every publish is QoS 1 and counts as delivered only on
// `+CMQTTPUB: 0,0`, which the modem sends once the broker's PUBACK has arrived (or an error
// after its <pub_timeout>), so the flash ring keeps a reading until then.
//
// The dialogue, per the manual (client index 0):
//   setup  AT, ATE0, AT+CGDCONT=1,"IP","<apn>", [AT+CGAUTH=1,<1|2>,"<pass>","<user>"],
//          AT+CEREG? until registered (stat 1 or 5), AT+CMQTTSTART (+CMQTTSTART: 0, or 23:
//          already started), AT+CMQTTDISC=0,<s> and AT+CMQTTREL=0 (a session left over from
//          before an ESP32 reset; errors expected and ignored), AT+CMQTTACCQ=0,"<id>",<0|1>,
//          [TLS: AT+CSSLCFG="sslversion",0,4 / "authmode",0,1 / "cacert",0,"ca.pem",
//          AT+CMQTTSSLCFG=0,0], AT+CMQTTWILLTOPIC=0,<n> '>' <topic>, AT+CMQTTWILLMSG=0,<n>,1 '>'
//          <payload>, AT+CMQTTCONNECT=0,"tcp://host:port",<keepalive>,1,"<user>","<pass>" then
//          +CMQTTCONNECT: 0,0;
//   ready  AT+CMQTTSUBTOPIC=0,<n>,1 '>' <filter>, AT+CMQTTSUB=0 then +CMQTTSUB: 0,0;
//          AT+CMQTTTOPIC=0,<n> '>' <topic>, AT+CMQTTPAYLOAD=0,<n> '>' <payload>,
//          AT+CMQTTPUB=0,1,<pub_timeout>,<retain> then +CMQTTPUB: 0,<err>;
//          URCs +CMQTTRXSTART/+CMQTTRXTOPIC/+CMQTTRXPAYLOAD/+CMQTTRXEND (a message, its topic
//          and payload as raw byte counts: a payload may hold "\r\nOK\r\n"), +CMQTTCONNLOST: 0,
//          <cause> and +CMQTTNONET (the session is gone);
//   close  AT+CMQTTDISC=0,<s> then +CMQTTDISC: 0,0, AT+CMQTTREL=0.
//
// What the modem's stack cannot do, and what follows from it:
// - its Will has no retain flag (AT+CMQTTWILLMSG takes a length and a QoS): the retained
//   `status` stays `online:true` after a power cut until the device is back; ingest and the
//   alerts see it offline by its silence (the offline rule), not by the retained status;
// - no way to drop the TCP session without a DISCONNECT: disconnect(false) is a DISC too, so
//   the broker publishes the Will only when the link or the modem itself dies;
// - one publish in flight at a time: each costs three exchanges and a round trip to the broker,
//   so a backlog replays at a few a second over 4G, below the 20 a second the uplink allows;
// - a message over kRxPayloadMax bytes (a command is far smaller) is dropped and counted, and
//   a publish over kPayloadMax (the ring's record size) is refused.
//
// The host build runs this class against a SIM7600 stand-in (firmware/test/host/fake_sim7600.*)
// that speaks the same commands and does the MQTT work with libmosquitto on the real broker.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ring.h"
#include "uplink.h"

namespace sy {

// The serial line to the modem. Non-blocking: write() takes what fits now (maybe less than
// len), read() returns what is there now, maybe 0 bytes.
class SerialLine {
 public:
  virtual size_t write(const char* data, size_t len) = 0;
  virtual size_t read(char* out, size_t cap) = 0;

 protected:
  ~SerialLine() = default;
};

// Where the port reports what happened (the device's onConnected/onConnectionLost/...).
class MqttEvents {
 public:
  virtual void connected(int64_t monoMs) = 0;
  virtual void connectionLost(int64_t monoMs) = 0;
  virtual void puback(int mid, int64_t monoMs) = 0;
  virtual void message(const char* topic, const char* payload, size_t len, int64_t monoMs) = 0;
  // The modem's clock after requestClock(): UTC, within half a second, as read at monoMs.
  virtual void clock(int64_t epochMs, int64_t monoMs) { (void)epochMs; (void)monoMs; }

 protected:
  ~MqttEvents() = default;
};

struct ModemConfig {
  const char* apn = "internet";
  const char* apnUser = "";
  const char* apnPassword = "";
  const char* host = "";
  uint16_t port = 1883;
  const char* ntpServer = "pool.ntp.org";
  // TLS with the broker checked against the CA the modem holds as "ca.pem" (AT+CCERTDOWN at
  // provisioning); the modem's stack has no bundle of public CAs.
  bool tls = false;
  uint16_t keepaliveS = 60;
  // The modem's own wait for a PUBACK (AT+CMQTTPUB's <pub_timeout>, 1-180 s).
  uint16_t pubTimeoutS = 20;
  // Deadlines in the poll clock's ms: an ordinary command's final result (the manual gives most
  // 9 s or less), AT+CMQTTSTART and AT+CMQTTCONNECT's result code, and registration.
  int64_t cmdTimeoutMs = 9000;
  int64_t connectTimeoutMs = 30000;
  int64_t registerTimeoutMs = 120000;
  int64_t registerRetryMs = 1000;
};

struct ModemCounters {
  uint32_t commands = 0;
  uint32_t errors = 0;          // ERROR, +CME ERROR, a result code other than 0
  uint32_t timeouts = 0;
  uint32_t lost = 0;            // +CMQTTCONNLOST, +CMQTTNONET, or a failed step
  uint32_t rxDropped = 0;       // an incoming message too long for its buffer, or ill-framed
};

class AtMqttPort : public MqttPort {
 public:
  static constexpr size_t kQueue = 12;  // the uplink's 10 in flight, the birth and a cmd/ack
  static constexpr size_t kTopicMax = 127;
  static constexpr size_t kPayloadMax = kMaxRecord;
  static constexpr size_t kRxPayloadMax = 600;

  AtMqttPort(SerialLine& line, const ModemConfig& cfg) : line_(line), cfg_(cfg) {}
  void attach(MqttEvents* events) { events_ = events; }

  // Starts the setup; outcomes come later through MqttEvents. Called while closing, the setup
  // starts once the old session is released.
  bool connect(const char* clientId, const char* username, const char* password, const Will& will) override;
  int publish(const char* topic, const char* payload, size_t len, bool retain) override;
  bool subscribe(const char* filter) override;
  void disconnect(bool graceful) override;

  // The wall clock from the network, for a device with no Wi-Fi and so no SNTP of its own (the
  // core opens no session before the clock is set): AT+CNTP="<ntpServer>",0 and AT+CNTP (the
  // modem's NTP client over its data session), then AT+CCLK?. Runs when no session is being
  // set up; its answer comes as MqttEvents::clock. A modem that never synced answers 1980,
  // which the core refuses, so the caller asks again later.
  // False: the APN settings or the NTP server cannot be said in a command.
  bool requestClock();
  // Reads what the modem sent and takes the next step. Call it often (every 10 ms).
  void poll(int64_t monoMs);
  // After disconnect(): true once the modem has closed the session (or gave up).
  bool idle() const { return phase_ == Phase::Idle && !connectPending_; }
  bool connected() const { return phase_ == Phase::Ready && !closing_; }
  size_t queued() const { return qCount_; }
  const ModemCounters& counters() const { return counters_; }

 private:
  enum class Phase : uint8_t { Idle, Clock, Setup, Ready, Closing };
  // One AT exchange: a command, maybe data after the '>' prompt, then OK, then maybe a result URC.
  enum class Wait : uint8_t { None, Prompt, Ok, Urc };
  enum Step : uint8_t {
    kAt, kEcho, kPdp, kAuth, kReg, kStart, kDisc, kRel, kAccq, kSslVersion, kSslAuth, kSslCa, kSsl,
    kWillTopic, kWillMsg, kConnect,                        // setup
    kSubTopic, kSub, kPubTopic, kPubPayload, kPub,         // ready
    kCloseDisc, kCloseRel,                                 // closing
    kNtpServer, kNtp, kCclk,                               // clock (after kAt..kReg)
    kNone,
  };
  struct Outgoing {
    int mid;
    bool retain;
    uint16_t topicLen;
    uint16_t len;
    char topic[kTopicMax + 1];
    char payload[kPayloadMax];
  };

  void begin(Step s, int64_t now);
  void nextSetup(Step done, int64_t now);
  void nextReady(int64_t now);
  void send(int64_t now, int64_t timeoutMs);
  void feed(char c, int64_t now);
  void onLine(const char* l, size_t n, int64_t now);
  bool onRx(const char* l, size_t n, int64_t now);
  void onPrompt(int64_t now);
  void onFinal(bool ok, int64_t now);
  void onResult(int err, int64_t now);
  void stepDone(int64_t now);
  void fail(int64_t now);
  void lose(int64_t now);
  void startClosing(int64_t now);
  void flushOut();
  void nextClock(Step done, int64_t now);
  bool tolerant(Step s) const { return s == kStart || s == kDisc || s == kRel || s == kCloseDisc || s == kCloseRel || s == kNtp; }

  SerialLine& line_;
  ModemConfig cfg_;
  MqttEvents* events_ = nullptr;
  ModemCounters counters_;
  Phase phase_ = Phase::Idle;
  Step step_ = kNone;
  Wait wait_ = Wait::None;
  const char* urc_ = nullptr;  // the result URC the current step waits for ("+CMQTTPUB: 0,")
  bool urcEarly_ = false;      // it came before the OK
  int urcErr_ = 0;
  int64_t deadline_ = 0;
  int64_t urcTimeoutMs_ = 0;
  int64_t regStartedMs_ = 0;
  int64_t regRetryAtMs_ = -1;
  bool registered_ = false;
  uint8_t atTries_ = 0;
  bool connectPending_ = false;
  bool clockPending_ = false;
  int64_t clockEpochMs_ = -1;  // from the +CCLK line
  bool closing_ = false;       // graceful: the queue drains first
  bool abort_ = false;         // close after the exchange in flight, dropping the queue
  // Data to send after the prompt, and what of the command or data is not written yet.
  const char* data_ = nullptr;
  size_t dataLen_ = 0;
  const char* out_ = nullptr;
  size_t outLeft_ = 0;

  char clientId_[72] = {};
  char user_[72] = {};
  char pass_[132] = {};
  char willTopic_[kTopicMax + 1] = {};
  char willPayload_[200] = {};
  size_t willLen_ = 0;
  char subFilter_[kTopicMax + 1] = {};
  bool subPending_ = false;

  Outgoing queue_[kQueue];
  size_t qHead_ = 0;
  size_t qCount_ = 0;
  int nextMid_ = 1;

  // The line being read; raw mode reads `rawLeft_` bytes of a received topic or payload.
  char in_[256] = {};
  size_t inLen_ = 0;
  bool inOverflow_ = false;
  size_t rawLeft_ = 0;
  bool rawIsTopic_ = false;
  bool rxActive_ = false;
  size_t rxTopicTotal_ = 0;
  size_t rxPayloadTotal_ = 0;
  char rxTopic_[kTopicMax + 1] = {};
  size_t rxTopicLen_ = 0;
  char rxPayload_[kRxPayloadMax] = {};
  size_t rxLen_ = 0;
  bool rxOverflow_ = false;
  char cmd_[512] = {};  // the longest: AT+CMQTTCONNECT with a 200-byte host and the credentials
};

}  // namespace sy
