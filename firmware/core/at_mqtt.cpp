// AtMqttPort (at_mqtt.h): the SIM7600's MQTT client driven by AT commands, one exchange at a
// time, from poll(). Bytes are read as they come (a line may arrive in any number of pieces);
// a received topic or payload is read by its announced byte count, never by line, so a payload
// holding "\r\nOK\r\n" is a payload and not a result code.
#include "at_mqtt.h"

#include <cstdio>
#include <cstring>

namespace sy {

namespace {

bool startsWith(const char* l, size_t n, const char* prefix) {
  const size_t k = strlen(prefix);
  return n >= k && memcmp(l, prefix, k) == 0;
}

bool equals(const char* l, size_t n, const char* s) { return n == strlen(s) && memcmp(l, s, n) == 0; }

// Up to `want` unsigned decimal numbers separated by commas (spaces allowed), and nothing else.
// Returns how many were read; -1 when the text is not such a list.
int numbers(const char* s, size_t n, long* out, int want) {
  int got = 0;
  size_t i = 0;
  while (i < n && got < want) {
    while (i < n && s[i] == ' ') i++;
    if (i >= n || s[i] < '0' || s[i] > '9') return -1;
    long v = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
      if (v > 100000000) return -1;
      v = v * 10 + (s[i] - '0');
      i++;
    }
    out[got++] = v;
    while (i < n && s[i] == ' ') i++;
    if (i < n) {
      if (s[i] != ',') return -1;
      i++;
    }
  }
  return i == n ? got : -1;
}

// Text that can go between double quotes in an AT command: printable ASCII without '"' (the
// command set has no escape for it).
bool quotable(const char* s, size_t max) {
  const size_t n = strlen(s);
  if (n > max) return false;
  for (size_t i = 0; i < n; i++) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c > 0x7e || c == '"') return false;
  }
  return true;
}

void copy(char* dst, size_t cap, const char* src) {
  const size_t n = strlen(src);
  const size_t k = n < cap - 1 ? n : cap - 1;
  memcpy(dst, src, k);
  dst[k] = '\0';
}

// Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil).
int64_t daysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// +CCLK: "yy/MM/dd,hh:mm:ss±zz" (local time, zz in quarter hours) as UTC epoch ms, within half a
// second; -1 if it is not that.
int64_t parseCclk(const char* l, size_t n) {
  const char* prefix = "+CCLK: \"";
  const size_t k = strlen(prefix);
  if (n != k + 21 || memcmp(l, prefix, k) != 0 || l[n - 1] != '"') return -1;
  const char* p = l + k;
  const char* shape = "dd/dd/dd,dd:dd:dd";
  for (size_t i = 0; i < 17; i++) {
    if (shape[i] == 'd' ? (p[i] < '0' || p[i] > '9') : p[i] != shape[i]) return -1;
  }
  if ((p[17] != '+' && p[17] != '-') || p[18] < '0' || p[18] > '9' || p[19] < '0' || p[19] > '9') return -1;
  const auto two = [p](size_t i) { return static_cast<int64_t>((p[i] - '0') * 10 + (p[i + 1] - '0')); };
  const int64_t mo = two(3), d = two(6), h = two(9), mi = two(12), sec = two(15);
  // The modem's clock before any sync reads 80/01/06 (1980), not 2080.
  if (two(0) >= 70) return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
  const int64_t zoneMin = (p[17] == '-' ? -1 : 1) * two(18) * 15;
  const int64_t local = ((daysFromCivil(2000 + two(0), mo, d) * 24 + h) * 60 + mi) * 60 + sec;
  return (local - zoneMin * 60) * 1000 + 500;  // the middle of the second it names
}

}  // namespace

bool AtMqttPort::connect(const char* clientId, const char* username, const char* password, const Will& will) {
  const size_t topicLen = strlen(will.topic);
  if (!quotable(clientId, sizeof clientId_ - 1) || !quotable(username, sizeof user_ - 1) || !quotable(password, sizeof pass_ - 1) ||
      !quotable(cfg_.apn, 63) || !quotable(cfg_.apnUser, 63) || !quotable(cfg_.apnPassword, 63) || !quotable(cfg_.host, 200) ||
      clientId[0] == '\0' || topicLen == 0 || topicLen > kTopicMax || will.len == 0 || will.len > sizeof willPayload_) {
    return false;
  }
  copy(clientId_, sizeof clientId_, clientId);
  copy(user_, sizeof user_, username);
  copy(pass_, sizeof pass_, password);
  copy(willTopic_, sizeof willTopic_, will.topic);
  memcpy(willPayload_, will.payload, will.len);
  willLen_ = will.len;
  qCount_ = 0;
  subPending_ = false;
  closing_ = false;
  connectPending_ = true;
  // A session still open (the uplink did not say it ended): close it first.
  if (phase_ == Phase::Setup || phase_ == Phase::Ready) abort_ = true;
  return true;
}

bool AtMqttPort::requestClock() {
  if (!quotable(cfg_.apn, 63) || !quotable(cfg_.apnUser, 63) || !quotable(cfg_.apnPassword, 63) || !quotable(cfg_.ntpServer, 200)) return false;
  clockPending_ = true;
  return true;
}

int AtMqttPort::publish(const char* topic, const char* payload, size_t len, bool retain) {
  const size_t topicLen = strlen(topic);
  if (!connected() || abort_ || qCount_ >= kQueue || topicLen == 0 || topicLen > kTopicMax || len > kPayloadMax) return 0;
  Outgoing& o = queue_[(qHead_ + qCount_) % kQueue];
  o.mid = nextMid_;
  nextMid_ = nextMid_ >= 0x7fff ? 1 : nextMid_ + 1;
  o.retain = retain;
  o.topicLen = static_cast<uint16_t>(topicLen);
  memcpy(o.topic, topic, topicLen + 1);
  o.len = static_cast<uint16_t>(len);
  if (len > 0) memcpy(o.payload, payload, len);
  qCount_++;
  return o.mid;
}

bool AtMqttPort::subscribe(const char* filter) {
  const size_t n = strlen(filter);
  if (!connected() || abort_ || n == 0 || n > kTopicMax) return false;
  memcpy(subFilter_, filter, n + 1);
  subPending_ = true;
  return true;
}

void AtMqttPort::disconnect(bool graceful) {
  connectPending_ = false;
  if (phase_ == Phase::Idle || phase_ == Phase::Closing || phase_ == Phase::Clock) return;  // no session
  if (phase_ == Phase::Ready && graceful) {
    closing_ = true;  // what is queued (the retained {online:false}) goes first
    return;
  }
  qCount_ = 0;
  subPending_ = false;
  abort_ = true;  // after the exchange in flight, if any
}

void AtMqttPort::poll(int64_t now) {
  char buf[128];
  for (int rounds = 0; rounds < 64; rounds++) {
    const size_t n = line_.read(buf, sizeof buf);
    if (n == 0) break;
    if (phase_ == Phase::Idle) continue;  // nothing is asked: stale answers, URCs of no session
    for (size_t i = 0; i < n; i++) feed(buf[i], now);
  }
  flushOut();
  if (wait_ != Wait::None && now > deadline_) {
    counters_.timeouts++;
    if (step_ == kAt && ++atTries_ < 5) {
      begin(kAt, now);  // the modem may still be taking data after a '>' of an exchange cut short
    } else if (tolerant(step_)) {
      stepDone(now);
    } else {
      fail(now);
    }
  }
  if (wait_ != Wait::None) return;
  switch (phase_) {
    case Phase::Idle:
      if (clockPending_ || connectPending_) {
        phase_ = clockPending_ ? Phase::Clock : Phase::Setup;
        if (clockPending_) clockPending_ = false;
        else connectPending_ = false;
        atTries_ = 0;
        inLen_ = 0;
        rawLeft_ = 0;
        rxActive_ = false;
        begin(kAt, now);
      }
      break;
    case Phase::Setup:
    case Phase::Clock:
      if (abort_ && phase_ == Phase::Setup) startClosing(now);
      else if (step_ == kReg && now >= regRetryAtMs_) begin(kReg, now);
      break;
    case Phase::Ready:
      nextReady(now);
      break;
    case Phase::Closing:
      break;
  }
}

void AtMqttPort::begin(Step s, int64_t now) {
  step_ = s;
  data_ = nullptr;
  dataLen_ = 0;
  urc_ = nullptr;
  urcEarly_ = false;
  urcErr_ = 0;
  urcTimeoutMs_ = cfg_.connectTimeoutMs;
  int64_t timeout = cfg_.cmdTimeoutMs;
  const Outgoing& o = queue_[qHead_];
  switch (s) {
    case kAt: snprintf(cmd_, sizeof cmd_, "AT"); break;
    case kEcho: snprintf(cmd_, sizeof cmd_, "ATE0"); break;
    case kPdp: snprintf(cmd_, sizeof cmd_, "AT+CGDCONT=1,\"IP\",\"%s\"", cfg_.apn); break;
    case kAuth: snprintf(cmd_, sizeof cmd_, "AT+CGAUTH=1,1,\"%s\",\"%s\"", cfg_.apnPassword, cfg_.apnUser); break;
    case kReg:
      registered_ = false;
      snprintf(cmd_, sizeof cmd_, "AT+CEREG?");
      break;
    case kStart:
      snprintf(cmd_, sizeof cmd_, "AT+CMQTTSTART");
      urc_ = "+CMQTTSTART: ";
      break;
    case kDisc:
    case kCloseDisc:
      snprintf(cmd_, sizeof cmd_, "AT+CMQTTDISC=0,10");
      urc_ = "+CMQTTDISC: 0,";
      break;
    case kRel:
    case kCloseRel: snprintf(cmd_, sizeof cmd_, "AT+CMQTTREL=0"); break;
    case kAccq: snprintf(cmd_, sizeof cmd_, "AT+CMQTTACCQ=0,\"%s\",%d", clientId_, cfg_.tls ? 1 : 0); break;
    case kSslVersion: snprintf(cmd_, sizeof cmd_, "AT+CSSLCFG=\"sslversion\",0,4"); break;
    case kSslAuth: snprintf(cmd_, sizeof cmd_, "AT+CSSLCFG=\"authmode\",0,1"); break;
    case kSslCa: snprintf(cmd_, sizeof cmd_, "AT+CSSLCFG=\"cacert\",0,\"ca.pem\""); break;
    case kSsl: snprintf(cmd_, sizeof cmd_, "AT+CMQTTSSLCFG=0,0"); break;
    case kWillTopic:
      snprintf(cmd_, sizeof cmd_, "AT+CMQTTWILLTOPIC=0,%u", static_cast<unsigned>(strlen(willTopic_)));
      data_ = willTopic_;
      dataLen_ = strlen(willTopic_);
      break;
    case kWillMsg:
      snprintf(cmd_, sizeof cmd_, "AT+CMQTTWILLMSG=0,%u,1", static_cast<unsigned>(willLen_));
      data_ = willPayload_;
      dataLen_ = willLen_;
      break;
    case kConnect:
      snprintf(cmd_, sizeof cmd_, "AT+CMQTTCONNECT=0,\"tcp://%s:%u\",%u,1,\"%s\",\"%s\"", cfg_.host, static_cast<unsigned>(cfg_.port),
               static_cast<unsigned>(cfg_.keepaliveS), user_, pass_);
      urc_ = "+CMQTTCONNECT: 0,";
      break;
    case kSubTopic:
      snprintf(cmd_, sizeof cmd_, "AT+CMQTTSUBTOPIC=0,%u,1", static_cast<unsigned>(strlen(subFilter_)));
      data_ = subFilter_;
      dataLen_ = strlen(subFilter_);
      break;
    case kSub:
      snprintf(cmd_, sizeof cmd_, "AT+CMQTTSUB=0");
      urc_ = "+CMQTTSUB: 0,";
      break;
    case kPubTopic:
      snprintf(cmd_, sizeof cmd_, "AT+CMQTTTOPIC=0,%u", static_cast<unsigned>(o.topicLen));
      data_ = o.topic;
      dataLen_ = o.topicLen;
      break;
    case kPubPayload:
      snprintf(cmd_, sizeof cmd_, "AT+CMQTTPAYLOAD=0,%u", static_cast<unsigned>(o.len));
      data_ = o.payload;
      dataLen_ = o.len;
      break;
    case kPub:
      snprintf(cmd_, sizeof cmd_, "AT+CMQTTPUB=0,1,%u,%d", static_cast<unsigned>(cfg_.pubTimeoutS), o.retain ? 1 : 0);
      urc_ = "+CMQTTPUB: 0,";
      break;
    case kNtpServer: snprintf(cmd_, sizeof cmd_, "AT+CNTP=\"%s\",0", cfg_.ntpServer); break;
    case kNtp:
      snprintf(cmd_, sizeof cmd_, "AT+CNTP");
      urc_ = "+CNTP: ";
      break;
    case kCclk:
      clockEpochMs_ = -1;
      snprintf(cmd_, sizeof cmd_, "AT+CCLK?");
      break;
    case kNone: return;
  }
  send(now, timeout);
}

// cmd_ holds the command; connect() bounded every string in it, so it fits with its <CR>.
void AtMqttPort::send(int64_t now, int64_t timeoutMs) {
  const size_t n = strlen(cmd_);
  cmd_[n] = '\r';  // a command ends with <CR>
  cmd_[n + 1] = '\0';
  out_ = cmd_;
  outLeft_ = n + 1;
  counters_.commands++;
  wait_ = data_ != nullptr ? Wait::Prompt : Wait::Ok;
  deadline_ = now + timeoutMs;
  flushOut();
}

void AtMqttPort::flushOut() {
  while (outLeft_ > 0) {
    const size_t w = line_.write(out_, outLeft_);
    if (w == 0) return;
    out_ += w;
    outLeft_ -= w;
  }
}

void AtMqttPort::feed(char c, int64_t now) {
  if (rawLeft_ > 0) {
    if (rawIsTopic_) {
      if (rxTopicLen_ < kTopicMax) rxTopic_[rxTopicLen_++] = c;
      else rxOverflow_ = true;
    } else {
      if (rxLen_ < kRxPayloadMax) rxPayload_[rxLen_++] = c;
      else rxOverflow_ = true;
    }
    rawLeft_--;
    return;
  }
  if (c == '\n') {
    size_t b = 0, e = inLen_;
    while (b < e && (in_[b] == ' ' || in_[b] == '\r')) b++;
    while (e > b && (in_[e - 1] == ' ' || in_[e - 1] == '\r')) e--;
    const bool overflow = inOverflow_;
    inLen_ = 0;
    inOverflow_ = false;
    if (!overflow && e > b) onLine(in_ + b, e - b, now);
    return;
  }
  if (wait_ == Wait::Prompt && c == '>') {
    bool blank = true;
    for (size_t i = 0; i < inLen_; i++) blank = blank && (in_[i] == '\r' || in_[i] == ' ');
    if (blank) {
      inLen_ = 0;
      onPrompt(now);
      return;
    }
  }
  if (inLen_ < sizeof in_) in_[inLen_++] = c;
  else inOverflow_ = true;
}

void AtMqttPort::onPrompt(int64_t now) {
  if (outLeft_ > 0) return;  // the command is not all written: not our prompt
  out_ = data_;
  outLeft_ = dataLen_;
  wait_ = Wait::Ok;
  deadline_ = now + cfg_.cmdTimeoutMs;
  flushOut();
}

void AtMqttPort::onLine(const char* l, size_t n, int64_t now) {
  if (startsWith(l, n, "+CMQTTRX")) {
    onRx(l, n, now);
    return;
  }
  if (startsWith(l, n, "+CMQTTCONNLOST:") || startsWith(l, n, "+CMQTTNONET")) {
    // The session is gone. During the setup, a loss is of the session being replaced.
    if (phase_ == Phase::Ready) lose(now);
    return;
  }
  if (urc_ != nullptr && (wait_ == Wait::Urc || wait_ == Wait::Ok) && startsWith(l, n, urc_)) {
    const size_t k = strlen(urc_);
    long v[1];
    const int err = numbers(l + k, n - k, v, 1) == 1 ? static_cast<int>(v[0]) : -1;
    if (wait_ == Wait::Urc) {
      onResult(err, now);
    } else {
      urcEarly_ = true;  // "+CMQTTSTART: <err>" may come before the OK
      urcErr_ = err;
    }
    return;
  }
  if (equals(l, n, "OK")) {
    if (wait_ == Wait::Ok) onFinal(true, now);
    else if (wait_ == Wait::Prompt) onFinal(false, now);  // no '>': the data was not asked for
    return;
  }
  if (equals(l, n, "ERROR") || startsWith(l, n, "+CME ERROR")) {
    if (wait_ == Wait::Ok || wait_ == Wait::Prompt) onFinal(false, now);
    else if (wait_ == Wait::Urc) onResult(-1, now);
    return;
  }
  if (step_ == kCclk && wait_ == Wait::Ok && startsWith(l, n, "+CCLK:")) {
    clockEpochMs_ = parseCclk(l, n);
    return;
  }
  if (step_ == kReg && wait_ == Wait::Ok && startsWith(l, n, "+CEREG:")) {
    long v[2];
    if (numbers(l + 7, n - 7, v, 2) == 2) registered_ = v[1] == 1 || v[1] == 5;  // home or roaming
    return;
  }
  // Anything else (the echo before ATE0, "RDY", "+CPIN: READY", the information line before
  // an ERROR such as "+CMQTTACCQ: 0,19") says nothing the step needs.
}

bool AtMqttPort::onRx(const char* l, size_t n, int64_t now) {
  long v[3];
  if (startsWith(l, n, "+CMQTTRXSTART:")) {
    if (rxActive_) counters_.rxDropped++;  // the previous one never ended
    const int got = numbers(l + 14, n - 14, v, 3);
    rxActive_ = true;
    rxTopicLen_ = 0;
    rxLen_ = 0;
    rxOverflow_ = got != 3 || v[0] != 0;
    rxTopicTotal_ = got == 3 ? static_cast<size_t>(v[1]) : 0;
    rxPayloadTotal_ = got == 3 ? static_cast<size_t>(v[2]) : 0;
    if (rxTopicTotal_ > kTopicMax || rxPayloadTotal_ > kRxPayloadMax) rxOverflow_ = true;
    return true;
  }
  const bool topic = startsWith(l, n, "+CMQTTRXTOPIC:");
  if (topic || startsWith(l, n, "+CMQTTRXPAYLOAD:")) {
    const size_t k = topic ? 14 : 16;
    if (numbers(l + k, n - k, v, 2) != 2 || v[0] != 0) {
      // Its byte count is unreadable: what follows cannot be framed. Drop the message; the
      // bytes are then read as lines, and a line that is no result code is ignored.
      rxOverflow_ = true;
      return false;
    }
    if (!rxActive_) rxOverflow_ = true;
    rawLeft_ = static_cast<size_t>(v[1]);
    rawIsTopic_ = topic;
    return true;
  }
  if (startsWith(l, n, "+CMQTTRXEND:")) {
    const bool whole = rxActive_ && !rxOverflow_ && rxTopicLen_ == rxTopicTotal_ && rxLen_ == rxPayloadTotal_ && rxTopicLen_ > 0;
    rxActive_ = false;
    if (!whole) {
      counters_.rxDropped++;
      return false;
    }
    rxTopic_[rxTopicLen_] = '\0';
    if (phase_ == Phase::Ready && !abort_ && events_ != nullptr) events_->message(rxTopic_, rxPayload_, rxLen_, now);
    return true;
  }
  return false;
}

void AtMqttPort::onFinal(bool ok, int64_t now) {
  if (!ok) {
    counters_.errors++;
    if (step_ == kAt && ++atTries_ < 5) begin(kAt, now);
    else if (tolerant(step_)) stepDone(now);
    else fail(now);
    return;
  }
  if (step_ == kReg) {
    wait_ = Wait::None;
    if (registered_) {
      begin(phase_ == Phase::Clock ? kNtpServer : kStart, now);
    } else if (now - regStartedMs_ > cfg_.registerTimeoutMs) {
      counters_.timeouts++;
      fail(now);
    } else {
      regRetryAtMs_ = now + cfg_.registerRetryMs;  // poll() asks again then
    }
    return;
  }
  if (urc_ != nullptr && !urcEarly_) {
    wait_ = Wait::Urc;
    deadline_ = now + urcTimeoutMs_;
    return;
  }
  if (urc_ != nullptr) onResult(urcErr_, now);
  else stepDone(now);
}

void AtMqttPort::onResult(int err, int64_t now) {
  if (err == 0 || tolerant(step_)) {
    stepDone(now);
    return;
  }
  counters_.errors++;
  fail(now);
}

void AtMqttPort::stepDone(int64_t now) {
  const Step s = step_;
  wait_ = Wait::None;
  urc_ = nullptr;
  step_ = kNone;
  switch (phase_) {
    case Phase::Setup:
      if (abort_) startClosing(now);
      else nextSetup(s, now);
      break;
    case Phase::Clock: nextClock(s, now); break;
    case Phase::Ready:
      if (abort_) {
        startClosing(now);  // a publish cut in the middle: the REL clears what the modem holds
        return;
      }
      if (s == kSub) {
        subPending_ = false;
      } else if (s == kPubTopic) {
        begin(queue_[qHead_].len > 0 ? kPubPayload : kPub, now);
        return;
      } else if (s == kPubPayload) {
        begin(kPub, now);
        return;
      } else if (s == kSubTopic) {
        begin(kSub, now);
        return;
      } else if (s == kPub && qCount_ > 0) {
        const int mid = queue_[qHead_].mid;
        qHead_ = (qHead_ + 1) % kQueue;
        qCount_--;
        if (events_ != nullptr && !abort_) events_->puback(mid, now);
      }
      if (wait_ == Wait::None && phase_ == Phase::Ready) nextReady(now);
      break;
    case Phase::Closing:
      if (s == kCloseDisc) {
        begin(kCloseRel, now);
      } else {
        phase_ = Phase::Idle;  // poll() starts a connect asked for meanwhile
      }
      break;
    case Phase::Idle: break;
  }
}

void AtMqttPort::nextSetup(Step done, int64_t now) {
  switch (done) {
    case kAt: begin(kEcho, now); break;
    case kEcho: begin(kPdp, now); break;
    case kPdp:
    case kAuth:
      if (done == kPdp && cfg_.apnUser[0] != '\0') {
        begin(kAuth, now);
        break;
      }
      regStartedMs_ = now;
      begin(kReg, now);
      break;
    case kStart: begin(kDisc, now); break;
    case kDisc: begin(kRel, now); break;
    case kRel: begin(kAccq, now); break;
    case kAccq: begin(cfg_.tls ? kSslVersion : kWillTopic, now); break;
    case kSslVersion: begin(kSslAuth, now); break;
    case kSslAuth: begin(kSslCa, now); break;
    case kSslCa: begin(kSsl, now); break;
    case kSsl: begin(kWillTopic, now); break;
    case kWillTopic: begin(kWillMsg, now); break;
    case kWillMsg: begin(kConnect, now); break;
    case kConnect:
      phase_ = Phase::Ready;
      if (events_ != nullptr) events_->connected(now);  // the uplink queues its birth, subscribes
      if (wait_ == Wait::None && phase_ == Phase::Ready) nextReady(now);
      break;
    default: fail(now); break;
  }
}

void AtMqttPort::nextClock(Step done, int64_t now) {
  switch (done) {
    case kAt: begin(kEcho, now); break;
    case kEcho: begin(kPdp, now); break;
    case kPdp:
    case kAuth:
      if (done == kPdp && cfg_.apnUser[0] != '\0') {
        begin(kAuth, now);
        break;
      }
      regStartedMs_ = now;
      begin(kReg, now);
      break;
    case kNtpServer: begin(kNtp, now); break;
    case kNtp: begin(kCclk, now); break;  // an NTP failure still leaves the network's own time (NITZ)
    case kCclk:
      phase_ = Phase::Idle;
      if (clockEpochMs_ < 0) {
        counters_.errors++;
        break;
      }
      if (events_ != nullptr) events_->clock(clockEpochMs_, now);
      break;
    default: fail(now); break;
  }
}

void AtMqttPort::nextReady(int64_t now) {
  if (abort_) startClosing(now);
  else if (subPending_) begin(kSubTopic, now);
  else if (qCount_ > 0) begin(kPubTopic, now);
  else if (closing_) startClosing(now);
}

void AtMqttPort::startClosing(int64_t now) {
  phase_ = Phase::Closing;
  abort_ = false;
  closing_ = false;
  qCount_ = 0;
  subPending_ = false;
  begin(kCloseDisc, now);
}

void AtMqttPort::fail(int64_t now) {
  wait_ = Wait::None;
  urc_ = nullptr;
  outLeft_ = 0;
  if (phase_ == Phase::Closing) {
    phase_ = Phase::Idle;  // given up; the next setup releases what is left
    step_ = kNone;
    return;
  }
  lose(now);
}

void AtMqttPort::lose(int64_t now) {
  counters_.lost++;
  const bool report = !abort_ && (phase_ == Phase::Setup || phase_ == Phase::Ready);
  wait_ = Wait::None;
  urc_ = nullptr;
  outLeft_ = 0;
  step_ = kNone;
  phase_ = Phase::Idle;
  qCount_ = 0;
  subPending_ = false;
  closing_ = false;
  abort_ = false;
  rawLeft_ = 0;
  rxActive_ = false;
  if (report && events_ != nullptr) events_->connectionLost(now);
}

}  // namespace sy
