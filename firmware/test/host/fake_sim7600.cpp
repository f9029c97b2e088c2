// FakeSim7600 (fake_sim7600.h): the SIM7600's MQTT AT commands over an in-process line, the
// MQTT itself by libmosquitto. Result codes as the manual's table: 0 ok, 3 socket connect
// failed, 11 no connection, 12 invalid parameter, 14 client busy, 17 timeout, 18 topic empty,
// 19 client used, 20 client not acquired, 22 length out of range, 23 network already opened,
// 27-31 the broker's CONNACK refusals.
#include "fake_sim7600.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace {

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
    else if (c < 0x20 || c >= 0x7f) {
      char b[8];
      snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else out += static_cast<char>(c);
  }
  return out + "\"";
}

}  // namespace

size_t LoopLine::read(char* out, size_t cap) {
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 17;
  rng_ ^= rng_ << 5;
  const size_t k = std::min({cap, static_cast<size_t>(1 + rng_ % 48), toDevice.size()});
  toDevice.copy(out, k);
  toDevice.erase(0, k);
  return k;
}

FakeSim7600::~FakeSim7600() {
  if (m_ != nullptr) mosquitto_destroy(m_);
}

double FakeSim7600::nowMs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) * 1000.0 + static_cast<double>(t.tv_nsec) / 1e6;
}

void FakeSim7600::violation(const std::string& cmd, const std::string& why) {
  violations_++;
  log_("{\"ev\":\"modem\",\"what\":\"violation\",\"cmd\":" + jsonString(cmd.substr(0, 200)) + ",\"why\":" + jsonString(why) + "}");
  error();
}

void FakeSim7600::refuse(const std::string& name, int err, bool withClient) {
  stateErrors_++;
  log_("{\"ev\":\"modem\",\"what\":\"refused\",\"cmd\":" + jsonString(name) + ",\"err\":" + std::to_string(err) + "}");
  say("\r\n+" + name + ": " + (withClient ? "0," : "") + std::to_string(err) + "\r\n\r\nERROR\r\n");
}

void FakeSim7600::loop(int timeoutMs) {
  // What the device wrote, byte by byte as a UART delivers it.
  std::string in;
  in.swap(line_.toModem);
  for (char c : in) input(c);
  const double now = nowMs();
  if (dataNeed_ > 0 && now > dataDeadlineMs_) {
    dataNeed_ = 0;
    onData_ = nullptr;
    violation("(data)", "fewer bytes than announced after '>'");
  }
  if (now - outageCheckedMs_ > 100) {
    outageCheckedMs_ = now;
    checkOutage();
  }
  if (m_ != nullptr) {
    const int rc = mosquitto_loop(m_, timeoutMs, 1);
    if (rc != MOSQ_ERR_SUCCESS && (conn_ == Conn::Up || conn_ == Conn::Connecting)) connLost_ = true;
  } else {
    usleep(static_cast<useconds_t>(timeoutMs) * 1000);
  }
  if (conn_ == Conn::Disconnecting) drop(false);  // a refused CONNECT: nothing kept
  if (conn_ == Conn::Connecting && nowMs() > connectDeadlineMs_) {
    drop(false);
    urc("+CMQTTCONNECT: 0,17");
  }
  if (connLost_) {
    connLost_ = false;
    const bool wasUp = conn_ == Conn::Up;
    const bool connecting = conn_ == Conn::Connecting;
    drop(false);
    if (wasUp) {
      log_("{\"ev\":\"modem\",\"what\":\"connlost\"}");
      urc("+CMQTTCONNLOST: 0,1");
    } else if (connecting) {
      urc("+CMQTTCONNECT: 0,3");
    }
  }
  if (pubPending_ && nowMs() > pubDeadlineMs_) {
    pubPending_ = false;
    urc("+CMQTTPUB: 0,17");
  }
  // Nothing goes out while the modem takes data after a '>'.
  if (dataNeed_ == 0 && !out_.empty()) {
    line_.toDevice += out_;
    out_.clear();
  }
}

void FakeSim7600::checkOutage() {
  if (outageFile_.empty()) return;
  struct stat st;
  const bool now = stat(outageFile_.c_str(), &st) == 0;
  if (now == outage_) return;
  outage_ = now;
  log_(std::string("{\"ev\":\"modem\",\"what\":\"") + (now ? "outage" : "outage over") + "\"}");
  if (now && (conn_ == Conn::Up || conn_ == Conn::Connecting)) {
    const bool wasUp = conn_ == Conn::Up;
    drop(false);  // no DISCONNECT: the broker publishes the Will
    urc(wasUp ? "+CMQTTCONNLOST: 0,3" : "+CMQTTCONNECT: 0,3");
  }
}

void FakeSim7600::drop(bool graceful) {
  if (m_ != nullptr) {
    if (graceful) {
      mosquitto_disconnect(m_);
      mosquitto_loop(m_, 10, 1);
    }
    mosquitto_destroy(m_);
    m_ = nullptr;
  }
  conn_ = Conn::None;
  pubPending_ = false;
  subPending_ = false;
}

void FakeSim7600::input(char c) {
  if (dataNeed_ > 0) {
    data_ += c;
    if (--dataNeed_ == 0) {
      auto then = std::move(onData_);
      onData_ = nullptr;
      then(data_);
    }
    return;
  }
  if (c == '\r') {
    std::string cmd;
    cmd.swap(cmd_);
    if (echo_) say(cmd + "\r");
    if (!cmd.empty()) command(cmd);
    return;
  }
  if (c == '\n' && cmd_.empty()) return;  // a terminal's CR LF
  cmd_ += c;
  if (cmd_.size() > 1024) {
    cmd_.clear();
    violation("(line)", "a command line over 1024 bytes");
  }
}

void FakeSim7600::prompt(size_t n, std::function<void(const std::string&)> then) {
  // '>' goes out at once, ahead of any queued URC: the modem is now taking data.
  line_.toDevice += out_ + "\r\n>";
  out_.clear();
  dataNeed_ = n;
  data_.clear();
  dataDeadlineMs_ = nowMs() + 5000;
  onData_ = std::move(then);
}

bool FakeSim7600::parseArgs(const std::string& s, std::vector<Arg>& out) {
  out.clear();
  size_t i = 0;
  while (i <= s.size()) {
    Arg a{false, "", 0};
    if (i < s.size() && s[i] == '"') {
      const size_t close = s.find('"', i + 1);
      if (close == std::string::npos) return false;
      a.quoted = true;
      a.s = s.substr(i + 1, close - i - 1);
      i = close + 1;
    } else {
      size_t j = i;
      while (j < s.size() && s[j] >= '0' && s[j] <= '9') j++;
      if (j == i || j - i > 9) return false;
      a.n = std::stol(s.substr(i, j - i));
      i = j;
    }
    out.push_back(a);
    if (i == s.size()) return true;
    if (s[i] != ',') return false;
    i++;
  }
  return false;
}

// req/opt: one letter per argument, 'i' a number, 's' a quoted string.
bool FakeSim7600::shape(const std::vector<Arg>& a, const char* req, const char* opt) {
  const size_t nr = strlen(req), no = strlen(opt);
  if (a.size() < nr || a.size() > nr + no) return false;
  for (size_t k = 0; k < a.size(); k++) {
    const char want = k < nr ? req[k] : opt[k - nr];
    if ((want == 's') != a[k].quoted) return false;
  }
  return true;
}

void FakeSim7600::command(const std::string& cmd) {
  if (cmd.rfind("AT", 0) != 0) {
    violation(cmd, "not an AT command (data longer than announced?)");
    return;
  }
  if (cmd == "AT") return ok();
  if (cmd == "ATE0" || cmd == "ATE1") {
    echo_ = cmd == "ATE1";
    return ok();
  }
  if (cmd.rfind("AT+", 0) != 0) return violation(cmd, "unknown command");
  const size_t eq = cmd.find('=');
  if (eq == std::string::npos) {
    const std::string name = cmd.substr(3);
    if (name == "CEREG?") {
      urc("+CEREG: 0,1");
      return ok();
    }
    if (name == "CCLK?") {
      char b[96] = "80/01/06,00:00:00+00";
      if (ntpDone_ && trueClock_) {
        const time_t local = static_cast<time_t>(trueClock_() / 1000 + ntpZone_ * 15 * 60);
        struct tm tmv;
        gmtime_r(&local, &tmv);
        snprintf(b, sizeof b, "%02d/%02d/%02d,%02d:%02d:%02d%c%02ld", tmv.tm_year % 100, tmv.tm_mon + 1, tmv.tm_mday, tmv.tm_hour, tmv.tm_min, tmv.tm_sec,
                 ntpZone_ < 0 ? '-' : '+', ntpZone_ < 0 ? -ntpZone_ : ntpZone_);
      }
      urc(std::string("+CCLK: \"") + b + "\"");
      return ok();
    }
    if (name == "CNTP") {
      if (!ntpSet_) return refuse(name, 1, false);
      ok();
      ntpDone_ = true;
      return urc("+CNTP: 0");
    }
    return mqttCommand(name, "", false);
  }
  mqttCommand(cmd.substr(3, eq - 3), cmd.substr(eq + 1), true);
}

void FakeSim7600::mqttCommand(const std::string& name, const std::string& rest, bool hasArgs) {
  const std::string full = "AT+" + name + (hasArgs ? "=" + rest : "");
  std::vector<Arg> a;
  if (hasArgs && !parseArgs(rest, a)) return violation(full, "malformed arguments");
  const auto client0 = [&]() { return !a.empty() && !a[0].quoted && a[0].n == 0; };
  if (name == "CGDCONT") {
    if (!shape(a, "iss") || a[0].n != 1 || a[1].s != "IP" || a[2].s.empty() || a[2].s.size() > 63) return violation(full, "CGDCONT=1,\"IP\",\"<apn>\"");
    apn_ = a[2].s;
    return ok();
  }
  if (name == "CGAUTH") {
    if (!shape(a, "ii", "ss") || a[0].n != 1 || a[1].n > 2) return violation(full, "CGAUTH=1,<0-2>[,\"<pass>\"[,\"<user>\"]]");
    return ok();
  }
  if (name == "CNTP") {
    // Zone in quarter hours, -96..96; a negative one comes as "-n", which parseArgs refuses:
    // the driver sends 0.
    if (!shape(a, "s", "i") || a[0].s.empty() || (a.size() > 1 && a[1].n > 96)) return violation(full, "CNTP=\"<server>\"[,<zone>]");
    ntpSet_ = true;
    ntpZone_ = a.size() > 1 ? a[1].n : 0;
    return ok();
  }
  if (name == "CSSLCFG") {
    if (a.empty() || !a[0].quoted) return violation(full, "CSSLCFG=\"<item>\",<ctx>,...");
    return ok();
  }
  if (name == "CMQTTSTART") {
    if (hasArgs) return violation(full, "CMQTTSTART takes no argument");
    if (started_) return refuse(name, 23, false);
    started_ = true;
    ok();
    return urc("+CMQTTSTART: 0");
  }
  if (name == "CMQTTSTOP") {
    if (hasArgs) return violation(full, "CMQTTSTOP takes no argument");
    if (!started_ || acquired_) return refuse(name, acquired_ ? 21 : 9, false);
    started_ = false;
    ok();
    return urc("+CMQTTSTOP: 0");
  }
  if (name == "CMQTTACCQ") {
    if (!shape(a, "is", "ii") || !client0() || a[1].s.empty() || a[1].s.size() > 128 || (a.size() > 2 && a[2].n > 1)) {
      return violation(full, "CMQTTACCQ=0,\"<id 1-128>\"[,<0|1>]");
    }
    if (!started_) return refuse(name, 9);
    if (acquired_) return refuse(name, 19);
    acquired_ = true;
    clientId_ = a[1].s;
    ssl_ = a.size() > 2 && a[2].n == 1;
    return ok();
  }
  if (name == "CMQTTREL") {
    if (!shape(a, "i") || !client0()) return violation(full, "CMQTTREL=0");
    if (!acquired_) return refuse(name, 20);
    if (conn_ != Conn::None) return refuse(name, 14);
    acquired_ = false;
    willTopic_.clear();
    willMsg_.clear();
    pubTopic_.clear();
    pubPayload_.clear();
    subTopic_.clear();
    return ok();
  }
  if (name == "CMQTTSSLCFG") {
    if (!shape(a, "ii") || !client0()) return violation(full, "CMQTTSSLCFG=0,<ctx>");
    if (!acquired_) return refuse(name, 20);
    return ok();
  }
  if (name == "CMQTTWILLTOPIC" || name == "CMQTTTOPIC" || name == "CMQTTPAYLOAD" || name == "CMQTTWILLMSG" || name == "CMQTTSUBTOPIC") {
    const bool withQos = name == "CMQTTWILLMSG" || name == "CMQTTSUBTOPIC";
    if (!shape(a, withQos ? "iii" : "ii") || !client0() || (withQos && a[2].n > 2)) {
      return violation(full, name + "=0,<length>" + (withQos ? ",<qos>" : ""));
    }
    const long max = name == "CMQTTPAYLOAD" ? 10240 : 1024;
    if (a[1].n < 1 || a[1].n > max) return refuse(name, 22);
    if (!acquired_) return refuse(name, 20);
    const int qos = withQos ? static_cast<int>(a[2].n) : 0;
    prompt(static_cast<size_t>(a[1].n), [this, name, qos](const std::string& d) {
      if (name == "CMQTTWILLTOPIC") willTopic_ = d;
      else if (name == "CMQTTWILLMSG") willMsg_ = d, willQos_ = qos;
      else if (name == "CMQTTTOPIC") pubTopic_ = d;
      else if (name == "CMQTTPAYLOAD") pubPayload_ = d;
      else subTopic_ = d, subQos_ = qos;
      ok();
    });
    return;
  }
  if (name == "CMQTTCONNECT") {
    if (!shape(a, "isii", "ss") || !client0() || a[2].n < 1 || a[2].n > 64800 || a[3].n > 1 || a[1].s.rfind("tcp://", 0) != 0) {
      return violation(full, "CMQTTCONNECT=0,\"tcp://<host>:<port>\",<keepalive>,<clean>[,\"<user>\"[,\"<pass>\"]]");
    }
    const std::string addr = a[1].s.substr(6);
    const size_t colon = addr.rfind(':');
    const int port = colon == std::string::npos ? 0 : std::atoi(addr.c_str() + colon + 1);
    if (colon == std::string::npos || colon == 0 || port <= 0 || port > 65535) return violation(full, "server address tcp://<host>:<port>");
    if (!acquired_) return refuse(name, 20);
    if (conn_ != Conn::None) return refuse(name, 19);
    ok();
    if (outage_) return urc("+CMQTTCONNECT: 0,3");
    m_ = mosquitto_new(clientId_.c_str(), a[3].n == 1, this);
    mosquitto_int_option(m_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    if (a.size() > 4) mosquitto_username_pw_set(m_, a[4].s.c_str(), a.size() > 5 ? a[5].s.c_str() : nullptr);
    // The modem's Will has no retain flag.
    if (!willTopic_.empty() && !willMsg_.empty()) mosquitto_will_set(m_, willTopic_.c_str(), static_cast<int>(willMsg_.size()), willMsg_.data(), willQos_, false);
    mosquitto_connect_callback_set(m_, onConnect);
    mosquitto_disconnect_callback_set(m_, onDisconnect);
    mosquitto_publish_callback_set(m_, onPublish);
    mosquitto_subscribe_callback_set(m_, onSubscribe);
    mosquitto_message_callback_set(m_, onMessage);
    if (mosquitto_connect(m_, addr.substr(0, colon).c_str(), port, static_cast<int>(a[2].n)) != MOSQ_ERR_SUCCESS) {
      drop(false);
      return urc("+CMQTTCONNECT: 0,3");
    }
    conn_ = Conn::Connecting;
    connectDeadlineMs_ = nowMs() + 30000;
    return;
  }
  if (name == "CMQTTDISC") {
    if (!shape(a, "ii") || !client0() || a[1].n > 180) return violation(full, "CMQTTDISC=0,<timeout 0-180>");
    if (conn_ != Conn::Up) return refuse(name, 11);
    ok();
    drop(true);
    return urc("+CMQTTDISC: 0,0");
  }
  if (name == "CMQTTPUB") {
    if (!shape(a, "iii", "ii") || !client0() || a[1].n > 2 || a[2].n < 1 || a[2].n > 180 || (a.size() > 3 && a[3].n > 1) || (a.size() > 4 && a[4].n > 1)) {
      return violation(full, "CMQTTPUB=0,<qos>,<pub_timeout 1-180>[,<retained>[,<dup>]]");
    }
    if (conn_ != Conn::Up) return refuse(name, 11);
    if (pubTopic_.empty()) return refuse(name, 18);
    if (pubPending_) return refuse(name, 14);
    int mid = 0;
    const bool retain = a.size() > 3 && a[3].n == 1;
    const int qos = static_cast<int>(a[1].n);
    if (mosquitto_publish(m_, &mid, pubTopic_.c_str(), static_cast<int>(pubPayload_.size()), pubPayload_.data(), qos, retain) != MOSQ_ERR_SUCCESS) {
      return refuse(name, 11);
    }
    pubTopic_.clear();  // the manual: both are cleared by a publish
    pubPayload_.clear();
    ok();
    if (qos == 0) return urc("+CMQTTPUB: 0,0");
    pubPending_ = true;
    pubMid_ = mid;
    pubDeadlineMs_ = nowMs() + static_cast<double>(a[2].n) * 1000;
    return;
  }
  if (name == "CMQTTSUB") {
    if (!shape(a, "i") || !client0()) return violation(full, "CMQTTSUB=0 (after CMQTTSUBTOPIC)");
    if (conn_ != Conn::Up) return refuse(name, 11);
    if (subTopic_.empty()) return refuse(name, 18);
    if (subPending_) return refuse(name, 14);
    if (mosquitto_subscribe(m_, &subMid_, subTopic_.c_str(), subQos_) != MOSQ_ERR_SUCCESS) return refuse(name, 11);
    subTopic_.clear();
    subPending_ = true;
    return ok();
  }
  violation(full, "unknown command");
}

void FakeSim7600::message(const struct mosquitto_message* msg) {
  const std::string topic = msg->topic;
  const std::string payload(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
  std::string s = "\r\n+CMQTTRXSTART: 0," + std::to_string(topic.size()) + "," + std::to_string(payload.size()) + "\r\n";
  s += "+CMQTTRXTOPIC: 0," + std::to_string(topic.size()) + "\r\n" + topic + "\r\n";
  for (size_t i = 0; i < payload.size(); i += 64) {
    const std::string part = payload.substr(i, 64);
    s += "+CMQTTRXPAYLOAD: 0," + std::to_string(part.size()) + "\r\n" + part + "\r\n";
  }
  s += "+CMQTTRXEND: 0\r\n";
  say(s);
}

void FakeSim7600::onConnect(struct mosquitto*, void* self, int rc) {
  auto* f = static_cast<FakeSim7600*>(self);
  if (f->conn_ != Conn::Connecting) return;
  if (rc == 0) {
    f->conn_ = Conn::Up;
    f->log_("{\"ev\":\"modem\",\"what\":\"connected\"}");
    f->urc("+CMQTTCONNECT: 0,0");
    return;
  }
  // CONNACK refusals 1-5 are the manual's 27-31; the session is not kept.
  f->urc("+CMQTTCONNECT: 0," + std::to_string(rc >= 1 && rc <= 5 ? 26 + rc : 1));
  f->conn_ = Conn::Disconnecting;
  f->connLost_ = false;
}

void FakeSim7600::onDisconnect(struct mosquitto*, void* self, int) {
  auto* f = static_cast<FakeSim7600*>(self);
  if (f->conn_ == Conn::Up) f->connLost_ = true;
}

void FakeSim7600::onPublish(struct mosquitto*, void* self, int mid) {
  auto* f = static_cast<FakeSim7600*>(self);
  if (!f->pubPending_ || mid != f->pubMid_) return;
  f->pubPending_ = false;
  f->urc("+CMQTTPUB: 0,0");  // QoS 1: on the PUBACK
}

void FakeSim7600::onSubscribe(struct mosquitto*, void* self, int mid, int, const int*) {
  auto* f = static_cast<FakeSim7600*>(self);
  if (!f->subPending_ || mid != f->subMid_) return;
  f->subPending_ = false;
  f->urc("+CMQTTSUB: 0,0");
}

void FakeSim7600::onMessage(struct mosquitto*, void* self, const struct mosquitto_message* msg) { static_cast<FakeSim7600*>(self)->message(msg); }
