// The device's way to the broker, as the simulator's uplink behaves (firmware-sim/uplink.ts):
// one connection at a time, clean session, a retained birth and Last Will; reconnects with
// backoff and jitter; the offline ring replayed in order with the original payloads, at most
// kMaxInflight unacknowledged and `replayPerS` a second. A record is acknowledged in the ring
// only on its PUBACK; whatever was in flight when a connection died is sent again (at least
// once: the broker may see a reading twice, never lose it; ingest drops the repeat by boot/seq).
#pragma once
#include <cstddef>
#include <cstdint>

#include "clock.h"
#include "ring.h"

namespace sy {

// The MQTT client underneath (libmosquitto on the host, esp-mqtt on the ESP32). Every publish
// is QoS 1. Outcomes come back through Uplink::onConnected/onConnectionLost/onPuback/onMessage.
class MqttPort {
 public:
  struct Will {
    const char* topic;
    const char* payload;
    size_t len;
  };
  // Starts connecting (MQTT 3.1.1, clean session, Will retained at QoS 1). False: failed at once.
  virtual bool connect(const char* clientId, const char* username, const char* password, const Will& will) = 0;
  // A message id > 0 whose PUBACK comes as onPuback(mid); 0 when it could not be queued.
  virtual int publish(const char* topic, const char* payload, size_t len, bool retain) = 0;
  virtual bool subscribe(const char* filter) = 0;
  // graceful: a DISCONNECT (no Will); otherwise the socket is dropped, as by a power cut.
  virtual void disconnect(bool graceful) = 0;

 protected:
  ~MqttPort() = default;  // never deleted through the interface: no operator delete in the core
};

// What the uplink asks of the device it serves.
class UplinkHost {
 public:
  // {online, ts, boot, fw} into out; 0 when it cannot be written (clock not synced).
  virtual size_t statusPayload(bool online, int64_t monoMs, char* out, size_t cap) = 0;
  virtual const char* topicFor(uint8_t channel) = 0;
  virtual void onCommand(const char* payload, size_t len, int64_t monoMs) = 0;
  // Notifications for logs and metrics.
  virtual void onLink(const char* what, int64_t monoMs, int64_t detailMs) { (void)what; (void)monoMs; (void)detailMs; }
  virtual void onDelivered(const RecordRef& ref, uint8_t channel) { (void)ref; (void)channel; }

 protected:
  ~UplinkHost() = default;
};

struct UplinkConfig {
  const char* clientId = "";
  const char* username = "";
  const char* password = "";
  const char* statusTopic = "";
  const char* cmdTopic = "";
  uint32_t replayPerS = 20;
  int64_t connectTimeoutMs = 30000;
};

class Uplink {
 public:
  static constexpr size_t kMaxInflight = 10;
  enum class Conn : uint8_t { Down, Connecting, Up };

  Uplink(const UplinkConfig& cfg, MqttPort& port, Ring& ring, UplinkHost& host, uint64_t seed)
      : cfg_(cfg), port_(port), ring_(ring), host_(host), rng_(seed) {}

  void reseed(uint64_t seed) { rng_ = Rng(seed); }
  // Connects when down and due (and `mayConnect`: the clock is synced, the link is up), sends.
  void tick(int64_t monoMs, bool mayConnect);
  void onConnected(int64_t monoMs);
  void onConnectionLost(int64_t monoMs);
  void onPuback(int mid, int64_t monoMs);
  void onMessage(const char* topic, const char* payload, size_t len, int64_t monoMs);
  // Outside the ring, at once (cmd/ack); dropped when offline, as the simulator does. Returns
  // the message id, 0 when not sent.
  int sendNow(const char* topic, const char* payload, size_t len);
  // After the ring dropped records for room: forget them here too.
  void onRingDropped();
  // Stops for good; graceful: publishes {online:false} first and disconnects cleanly.
  void close(int64_t monoMs, bool graceful);
  // True once the PUBACK for `mid` (from sendNow) arrived.
  bool delivered(int mid) const;

  Conn conn() const { return conn_; }
  size_t inflight() const { return inflightN_; }
  uint32_t attempts() const { return backoff_.attempts(); }
  int64_t retryAtMs() const { return retryAtMs_; }

 private:
  struct Inflight {
    int mid;
    RecordRef ref;
    uint8_t channel;
  };
  void flush(int64_t monoMs);
  void lost(int64_t monoMs, const char* why);
  bool isInflight(const RecordRef& ref) const;
  const UplinkConfig& cfg_;
  MqttPort& port_;
  Ring& ring_;
  UplinkHost& host_;
  Rng rng_;
  Backoff backoff_;
  Conn conn_ = Conn::Down;
  int64_t retryAtMs_ = 0;
  int64_t connectingSinceMs_ = 0;
  Inflight inflight_[kMaxInflight] = {};
  size_t inflightN_ = 0;
  uint32_t cursor_ = 0;
  double tokens_ = 1;
  int64_t tokensAtMs_ = 0;
  int lastDirectMid_ = 0;
  bool lastDirectAcked_ = false;
  bool closed_ = false;
  char buf_[kMaxRecord + 1];
};

}  // namespace sy
