#include "uplink.h"

#include <cstring>

namespace sy {

void Uplink::tick(int64_t monoMs, bool mayConnect) {
  if (closed_) return;
  if (conn_ == Conn::Connecting && monoMs - connectingSinceMs_ > cfg_.connectTimeoutMs) {
    port_.disconnect(false);
    lost(monoMs, "connect timed out");
  }
  if (conn_ == Conn::Down && monoMs >= retryAtMs_) {
    if (!mayConnect) return;
    char will[160];
    size_t n = host_.statusPayload(false, monoMs, will, sizeof will);
    if (n == 0) return;
    conn_ = Conn::Connecting;
    connectingSinceMs_ = monoMs;
    host_.onLink("connecting", monoMs, backoff_.attempts());
    if (!port_.connect(cfg_.clientId, cfg_.username, cfg_.password, MqttPort::Will{cfg_.statusTopic, will, n})) {
      lost(monoMs, "connect failed");
    }
    return;
  }
  if (conn_ == Conn::Up) flush(monoMs);
}

void Uplink::onConnected(int64_t monoMs) {
  if (closed_ || conn_ != Conn::Connecting) return;
  conn_ = Conn::Up;
  backoff_.reset();
  inflightN_ = 0;
  cursor_ = ring_.headSlot();  // everything unacknowledged, oldest first
  tokens_ = 1;
  tokensAtMs_ = monoMs;
  char birth[160];
  size_t n = host_.statusPayload(true, monoMs, birth, sizeof birth);
  if (n > 0) port_.publish(cfg_.statusTopic, birth, n, true);
  port_.subscribe(cfg_.cmdTopic);
  host_.onLink("connected", monoMs, 0);
  flush(monoMs);
}

void Uplink::onConnectionLost(int64_t monoMs) {
  if (closed_ || conn_ == Conn::Down) return;
  lost(monoMs, "connection lost");
}

void Uplink::lost(int64_t monoMs, const char* why) {
  conn_ = Conn::Down;
  inflightN_ = 0;  // still unacknowledged in the ring: sent again after the next connect
  int64_t delay = backoff_.nextDelayMs(rng_);
  retryAtMs_ = monoMs + delay;
  host_.onLink(why, monoMs, delay);
}

bool Uplink::isInflight(const RecordRef& ref) const {
  for (size_t i = 0; i < inflightN_; i++) {
    if (inflight_[i].ref.slot == ref.slot && inflight_[i].ref.id == ref.id) return true;
  }
  return false;
}

void Uplink::flush(int64_t monoMs) {
  // Token bucket: replayPerS a second, a burst of at most one second's worth.
  const double rate = cfg_.replayPerS;
  tokens_ += static_cast<double>(monoMs - tokensAtMs_) / 1000.0 * rate;
  if (tokens_ > rate) tokens_ = rate;
  tokensAtMs_ = monoMs;
  while (conn_ == Conn::Up && inflightN_ < kMaxInflight && tokens_ >= 1) {
    RecordRef ref;
    uint8_t channel = 0;
    uint16_t len = 0;
    if (!ring_.nextAt(cursor_, ref, channel, buf_, len)) return;
    cursor_ = ring_.next(ref.slot);
    if (isInflight(ref)) continue;
    int mid = port_.publish(host_.topicFor(channel), buf_, len, false);
    if (mid <= 0) {
      // Could not queue: the connection is going; its loss brings the retry.
      cursor_ = ref.slot;
      return;
    }
    inflight_[inflightN_++] = Inflight{mid, ref, channel};
    tokens_ -= 1;
  }
}

void Uplink::onPuback(int mid, int64_t monoMs) {
  if (mid == lastDirectMid_) lastDirectAcked_ = true;
  for (size_t i = 0; i < inflightN_; i++) {
    if (inflight_[i].mid != mid) continue;
    Inflight done = inflight_[i];
    inflight_[i] = inflight_[--inflightN_];
    if (ring_.ack(done.ref)) host_.onDelivered(done.ref, done.channel);
    break;
  }
  if (conn_ == Conn::Up) flush(monoMs);
}

void Uplink::onMessage(const char* topic, const char* payload, size_t len, int64_t monoMs) {
  if (strcmp(topic, cfg_.cmdTopic) == 0) host_.onCommand(payload, len, monoMs);
}

int Uplink::sendNow(const char* topic, const char* payload, size_t len) {
  if (conn_ != Conn::Up) return 0;
  int mid = port_.publish(topic, payload, len, false);
  if (mid > 0) {
    lastDirectMid_ = mid;
    lastDirectAcked_ = false;
  }
  return mid;
}

bool Uplink::delivered(int mid) const { return mid > 0 && mid == lastDirectMid_ && lastDirectAcked_; }

void Uplink::onRingDropped() {
  size_t kept = 0;
  for (size_t i = 0; i < inflightN_; i++) {
    if (ring_.holds(inflight_[i].ref)) inflight_[kept++] = inflight_[i];
  }
  inflightN_ = kept;
  // The cursor may point into the erased sector: start again from the oldest record; what is in
  // flight is skipped there.
  cursor_ = ring_.headSlot();
}

void Uplink::close(int64_t monoMs, bool graceful) {
  if (closed_) return;
  if (conn_ == Conn::Up && graceful) {
    char off[160];
    size_t n = host_.statusPayload(false, monoMs, off, sizeof off);
    if (n > 0) port_.publish(cfg_.statusTopic, off, n, true);
  }
  if (conn_ != Conn::Down) port_.disconnect(graceful);
  conn_ = Conn::Down;
  inflightN_ = 0;
  closed_ = true;
}

}  // namespace sy
