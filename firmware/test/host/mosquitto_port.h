// The core's MqttPort on libmosquitto (Debian's libmosquitto-dev), driven from the main loop
// with mosquitto_loop(). A fresh client per connection: libmosquitto would otherwise resend its
// own copy of unacknowledged messages after a reconnect, and the core alone decides what is
// sent again (from the flash ring). Dropping a client without DISCONNECT makes the broker
// publish the Last Will, as a power cut does.
#pragma once
#include <mosquitto.h>

#include <string>

#include "device.h"

class MosquittoPort : public sy::MqttPort {
 public:
  MosquittoPort(const std::string& host, int port) : host_(host), port_(port) {}
  ~MosquittoPort() { drop(); }
  void attach(sy::Device* dev, const class HostClock* clock) {
    dev_ = dev;
    clock_ = clock;
  }
  bool connect(const char* clientId, const char* username, const char* password, const Will& will) override;
  int publish(const char* topic, const char* payload, size_t len, bool retain) override;
  bool subscribe(const char* filter) override;
  void disconnect(bool graceful) override;
  // Runs the network for up to timeoutMs; reports a lost connection to the device.
  void loop(int timeoutMs);

 private:
  static void onConnect(struct mosquitto*, void* self, int rc);
  static void onDisconnect(struct mosquitto*, void* self, int rc);
  static void onPublish(struct mosquitto*, void* self, int mid);
  static void onMessage(struct mosquitto*, void* self, const struct mosquitto_message* msg);
  void drop();
  int64_t now() const;
  std::string host_;
  int port_;
  struct mosquitto* m_ = nullptr;
  sy::Device* dev_ = nullptr;
  const class HostClock* clock_ = nullptr;
  bool lost_ = false;
  int lastMid_ = 0;
  bool lastAcked_ = true;
};
