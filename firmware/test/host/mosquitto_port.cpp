#include "mosquitto_port.h"

#include <unistd.h>

#include "host_clock.h"

int64_t MosquittoPort::now() const { return clock_ ? clock_->monoMs() : 0; }

void MosquittoPort::drop() {
  if (m_ == nullptr) return;
  mosquitto_destroy(m_);  // closes the socket without DISCONNECT: the broker sends the Will
  m_ = nullptr;
}

bool MosquittoPort::connect(const char* clientId, const char* username, const char* password, const Will& will) {
  drop();
  lost_ = false;
  m_ = mosquitto_new(clientId, true, this);  // clean session, as the simulator's devices
  if (m_ == nullptr) return false;
  mosquitto_int_option(m_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_username_pw_set(m_, username, password);
  mosquitto_will_set(m_, will.topic, static_cast<int>(will.len), will.payload, 1, true);
  mosquitto_connect_callback_set(m_, onConnect);
  mosquitto_disconnect_callback_set(m_, onDisconnect);
  mosquitto_publish_callback_set(m_, onPublish);
  mosquitto_message_callback_set(m_, onMessage);
  // The core keeps at most 10 in flight; never let libmosquitto hold any back.
  mosquitto_max_inflight_messages_set(m_, 32);
  if (mosquitto_connect(m_, host_.c_str(), port_, 30) != MOSQ_ERR_SUCCESS) {
    drop();
    return false;
  }
  return true;
}

int MosquittoPort::publish(const char* topic, const char* payload, size_t len, bool retain) {
  if (m_ == nullptr || lost_) return 0;
  int mid = 0;
  if (mosquitto_publish(m_, &mid, topic, static_cast<int>(len), payload, 1, retain) != MOSQ_ERR_SUCCESS) return 0;
  lastMid_ = mid;
  lastAcked_ = false;
  return mid;
}

bool MosquittoPort::subscribe(const char* filter) {
  return m_ != nullptr && mosquitto_subscribe(m_, nullptr, filter, 1) == MOSQ_ERR_SUCCESS;
}

void MosquittoPort::disconnect(bool graceful) {
  if (m_ != nullptr && graceful && !lost_) {
    // Let the last publish (the retained {online:false}) reach the broker first.
    for (int i = 0; i < 100 && !lastAcked_ && !lost_; i++) mosquitto_loop(m_, 10, 1);
    mosquitto_disconnect(m_);
    mosquitto_loop(m_, 10, 1);
  }
  drop();
}

void MosquittoPort::loop(int timeoutMs) {
  if (m_ == nullptr) {
    usleep(static_cast<useconds_t>(timeoutMs) * 1000);
    return;
  }
  int rc = mosquitto_loop(m_, timeoutMs, 1);
  if (rc != MOSQ_ERR_SUCCESS) lost_ = true;
  if (lost_) {
    drop();
    if (dev_) dev_->onConnectionLost(now());
  }
}

void MosquittoPort::onConnect(struct mosquitto*, void* self, int rc) {
  auto* p = static_cast<MosquittoPort*>(self);
  if (rc != 0) {
    p->lost_ = true;  // refused (bad credentials): the core backs off
    return;
  }
  if (p->dev_) p->dev_->onConnected(p->now());
}

void MosquittoPort::onDisconnect(struct mosquitto*, void* self, int) { static_cast<MosquittoPort*>(self)->lost_ = true; }

void MosquittoPort::onPublish(struct mosquitto*, void* self, int mid) {
  auto* p = static_cast<MosquittoPort*>(self);
  if (mid == p->lastMid_) p->lastAcked_ = true;
  if (p->dev_) p->dev_->onPuback(mid, p->now());  // QoS 1: called on the PUBACK
}

void MosquittoPort::onMessage(struct mosquitto*, void* self, const struct mosquitto_message* msg) {
  auto* p = static_cast<MosquittoPort*>(self);
  if (p->dev_) p->dev_->onMessage(msg->topic, static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen), p->now());
}
