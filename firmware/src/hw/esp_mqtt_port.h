// NOT COMPILED HERE (see firmware/README.md). The core's MqttPort on esp-mqtt (ESP-IDF 4.4
// mqtt_client.h), over TLS (mqtts://, the broker's CA in the provisioning). As on the host
// (libmosquitto), a fresh client per connection with auto-reconnect off: esp-mqtt's own outbox
// (RAM, expired after 30 s, lost at a reboot) then never resends anything; the core alone
// resends, from the flash ring, and only an MQTT_EVENT_PUBLISHED (the PUBACK) deletes a reading.
#pragma once
#include <esp_crt_bundle.h>
#include <mqtt_client.h>

#include <atomic>

#include "uplink.h"

class EspMqttPort : public sy::MqttPort {
 public:
  EspMqttPort() = default;
  // Before the first connect: the broker (mqtt[s]://host:port) and its CA; a null CA on mqtts://
  // checks the broker against ESP-IDF's bundle of public CAs (CONFIG_MBEDTLS_CERTIFICATE_BUNDLE).
  void configure(const char* uri, const char* caPem) {
    uri_ = uri;
    ca_ = caPem;
  }
  // Events arrive on esp-mqtt's task; the main loop drains them (the core is single-threaded).
  struct Event {
    enum Type : uint8_t { Connected, Lost, Puback, Message } type;
    int mid;
    char topic[96];
    char payload[512];
    int len;
  };
  bool poll(Event& out);  // a small lock-free queue, filled by the handler below

  bool connect(const char* clientId, const char* user, const char* pass, const Will& will) override {
    drop();
    esp_mqtt_client_config_t c = {};
    c.uri = uri_;
    if (ca_ != nullptr) c.cert_pem = ca_;
    else c.crt_bundle_attach = esp_crt_bundle_attach;
    c.client_id = clientId;
    c.username = user;
    c.password = pass;
    c.lwt_topic = will.topic;
    c.lwt_msg = will.payload;
    c.lwt_msg_len = static_cast<int>(will.len);
    c.lwt_qos = 1;
    c.lwt_retain = 1;
    c.disable_clean_session = false;  // clean session, as the simulator's devices
    c.disable_auto_reconnect = true;  // the core decides when, with backoff and jitter
    c.keepalive = 30;
    c.user_context = this;
    client_ = esp_mqtt_client_init(&c);
    if (client_ == nullptr) return false;
    esp_mqtt_client_register_event(client_, MQTT_EVENT_ANY, &EspMqttPort::handler, this);
    return esp_mqtt_client_start(client_) == ESP_OK;
  }
  int publish(const char* topic, const char* payload, size_t len, bool retain) override {
    // Queued without blocking; the msg_id comes back in MQTT_EVENT_PUBLISHED on the PUBACK.
    int id = esp_mqtt_client_enqueue(client_, topic, payload, static_cast<int>(len), 1, retain ? 1 : 0, true);
    return id > 0 ? id : 0;
  }
  bool subscribe(const char* filter) override { return esp_mqtt_client_subscribe(client_, filter, 1) >= 0; }
  void disconnect(bool graceful) override {
    if (client_ && graceful) esp_mqtt_client_disconnect(client_);
    drop();
  }

 private:
  static void handler(void* self, esp_event_base_t, int32_t id, void* data);
  void push(const Event& e);
  void drop() {
    if (client_ == nullptr) return;
    esp_mqtt_client_stop(client_);
    esp_mqtt_client_destroy(client_);
    client_ = nullptr;
  }
  const char* uri_ = nullptr;
  const char* ca_ = nullptr;
  esp_mqtt_client_handle_t client_ = nullptr;
  static constexpr int kQueue = 16;
  Event q_[kQueue];
  std::atomic<int> head_{0}, tail_{0};
};

inline void EspMqttPort::push(const Event& e) {
  int t = tail_.load();
  if ((t + 1) % kQueue == head_.load()) return;  // full: a lost PUBACK only means a resend
  q_[t] = e;
  tail_.store((t + 1) % kQueue);
}

inline bool EspMqttPort::poll(Event& out) {
  int h = head_.load();
  if (h == tail_.load()) return false;
  out = q_[h];
  head_.store((h + 1) % kQueue);
  return true;
}

inline void EspMqttPort::handler(void* self, esp_event_base_t, int32_t id, void* data) {
  auto* p = static_cast<EspMqttPort*>(self);
  auto* ev = static_cast<esp_mqtt_event_handle_t>(data);
  Event e = {};
  switch (static_cast<esp_mqtt_event_id_t>(id)) {
    case MQTT_EVENT_CONNECTED: e.type = Event::Connected; break;
    case MQTT_EVENT_DISCONNECTED:
    case MQTT_EVENT_ERROR: e.type = Event::Lost; break;
    case MQTT_EVENT_PUBLISHED: e.type = Event::Puback; e.mid = ev->msg_id; break;
    case MQTT_EVENT_DATA:
      if (ev->topic_len >= static_cast<int>(sizeof e.topic) || ev->data_len > static_cast<int>(sizeof e.payload) || ev->data_len != ev->total_data_len) return;
      e.type = Event::Message;
      memcpy(e.topic, ev->topic, ev->topic_len);
      memcpy(e.payload, ev->data, ev->data_len);
      e.len = ev->data_len;
      break;
    default: return;
  }
  p->push(e);
}
