// suanyang-host-device: the firmware core on a POSIX host, against a real broker (libmosquitto),
// with fake sensors, a fake flash file and an accelerated clock. One JSON line per thing that
// happens on stdout, for the integration tests (test/firmware-host.test.ts) and for people.
//   suanyang-host-device --url mqtt://127.0.0.1:1883 --farm F --kind pump --id D --password P
//                        --data /tmp/d.flash [--speed 60] [--sync-after-ms 3000] ...
//   suanyang-host-device --provision FILE --data /tmp/d.flash ...   farm, kind, id, password and
//                        broker from a provisioning document (suanyang device add --firmware json)
//   suanyang-host-device ... --link sim7600 [--modem-outage-file FILE]   the MQTT session through
//                        the core's AT driver (core/at_mqtt.h) and a SIM7600 stand-in
//                        (fake_sim7600.h) instead of libmosquitto directly
//   suanyang-host-device --print-samples     every kind of payload the core writes, and exits
//   suanyang-host-device --check-provisioning   base64 documents on stdin, one verdict per line
#include <signal.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "at_mqtt.h"
#include "fake_plant.h"
#include "fake_sim7600.h"
#include "host_clock.h"
#include "json.h"
#include "mosquitto_port.h"
#include "posix_store.h"
#include "provision.h"
#include "samples.h"

namespace {

volatile sig_atomic_t stopSignal = 0;
void onSignal(int) { stopSignal = 1; }

struct Options {
  std::string url = "mqtt://127.0.0.1:1883";
  std::string farm, kind = "pump", id, password, data, faultsFile, fw = "sy-host-1.0.0", provision;
  std::string link = "mosquitto", modemOutageFile;
  uint32_t intervalS = 0, idleS = 0, replayPerS = 20, flashKb = 1024;
  double speed = 1, sun = -1;
  int64_t syncAfterMs = 0, epochAtOrigin = 0, originReal = 0;
  bool samples = false, timeProbe = false, checkProvisioning = false, modemScript = false;
};

const char* usage =
    "usage: suanyang-host-device --farm F --kind pump|soil|waterbank --id D --password P --data FILE\n"
    "  [--url mqtt://host:port] [--interval S] [--idle-interval S] [--speed X] [--sync-after-ms MS]\n"
    "  [--epoch-at-origin MS --origin-real-ms MS] [--sun W/M2] [--faults-file FILE] [--replay-per-s N]\n"
    "  [--flash-kb KB] [--fw VERSION] [--time-probe] [--link mosquitto|sim7600] [--modem-outage-file FILE]\n"
    "  suanyang-host-device --provision FILE --data FILE [options above but --farm/--kind/--id/--password/--url]\n"
    "  suanyang-host-device --print-samples | --check-provisioning | --modem-script\n";

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      fputs(usage, stdout);
      exit(0);
    }
    if (a == "--print-samples") { o.samples = true; continue; }
    if (a == "--time-probe") { o.timeProbe = true; continue; }
    if (a == "--check-provisioning") { o.checkProvisioning = true; continue; }
    if (a == "--modem-script") { o.modemScript = true; continue; }
    if (i + 1 >= argc) return false;
    std::string v = argv[++i];
    if (a == "--url") o.url = v;
    else if (a == "--farm") o.farm = v;
    else if (a == "--kind") o.kind = v;
    else if (a == "--id") o.id = v;
    else if (a == "--password") o.password = v;
    else if (a == "--data") o.data = v;
    else if (a == "--provision") o.provision = v;
    else if (a == "--faults-file") o.faultsFile = v;
    else if (a == "--fw") o.fw = v;
    else if (a == "--link") o.link = v;
    else if (a == "--modem-outage-file") o.modemOutageFile = v;
    else if (a == "--interval") o.intervalS = static_cast<uint32_t>(std::stoul(v));
    else if (a == "--idle-interval") o.idleS = static_cast<uint32_t>(std::stoul(v));
    else if (a == "--replay-per-s") o.replayPerS = static_cast<uint32_t>(std::stoul(v));
    else if (a == "--flash-kb") o.flashKb = static_cast<uint32_t>(std::stoul(v));
    else if (a == "--speed") o.speed = std::stod(v);
    else if (a == "--sun") o.sun = std::stod(v);
    else if (a == "--sync-after-ms") o.syncAfterMs = std::stoll(v);
    else if (a == "--epoch-at-origin") o.epochAtOrigin = std::stoll(v);
    else if (a == "--origin-real-ms") o.originReal = std::stoll(v);
    else return false;
  }
  return true;
}

// mqtt://host:port
bool parseUrl(const std::string& url, std::string& host, int& port) {
  const std::string prefix = "mqtt://";
  if (url.rfind(prefix, 0) != 0) return false;
  std::string rest = url.substr(prefix.size());
  size_t colon = rest.rfind(':');
  host = colon == std::string::npos ? rest : rest.substr(0, colon);
  port = colon == std::string::npos ? 1883 : std::atoi(rest.c_str() + colon + 1);
  return !host.empty() && port > 0;
}

// JSON lines: strings here are the core's own (names, reasons, ids it has checked), written
// through the core's escaping writer.
class LineLog : public sy::DeviceObserver {
 public:
  LineLog(const HostClock& clock) : clock_(clock) {}
  const sy::Device* dev = nullptr;
  void stored(sy::Channel ch, uint32_t seq, int64_t ts, int64_t takenMonoMs, bool held) override {
    printf("{\"ev\":\"stored\",\"ch\":\"%s\",\"boot\":%u,\"seq\":%u,\"ts\":%" PRId64 ",\"true_ms\":%" PRId64 ",\"mono\":%" PRId64 ",\"held\":%s}\n",
           sy::channelName(ch), dev ? dev->boot() : 0, seq, ts, clock_.trueEpochAt(takenMonoMs), takenMonoMs, held ? "true" : "false");
  }
  void link(const char* what, int64_t monoMs, int64_t detailMs) override {
    printf("{\"ev\":\"link\",\"what\":\"%s\",\"mono\":%" PRId64 ",\"detail_ms\":%" PRId64 "}\n", what, monoMs, detailMs);
  }
  void command(const sy::Command* cmd, bool ok, const char* error) override {
    char line[700];
    sy::JsonWriter w(line, sizeof line);
    w.open().key("ev").str("cmd", 8).key("id").str(cmd->id, cmd->idLen, 64).key("ok").boolean(ok);
    if (error) w.key("error").str(error, 256);
    w.close();
    if (w.finish()) printf("%s\n", line);
  }
  void problem(const char* what, const char* detail, uint32_t count) override {
    char line[400];
    sy::JsonWriter w(line, sizeof line);
    w.open().key("ev").str("problem", 16).key("what").str(what, 32).key("detail").str(detail ? detail : "", 200).key("count").u64(count).close();
    if (w.finish()) printf("%s\n", line);
  }

 private:
  const HostClock& clock_;
};

// RFC 4648 base64 (the test sends arbitrary bytes, newlines and NULs included, one per line).
bool fromBase64(const std::string& in, std::string& out) {
  static const std::string abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const size_t v = abc.find(c);
    if (v == std::string::npos) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

// The verdict on one document as a JSON line, written through the core's escaping writer.
void printVerdict(const sy::ProvisionResult& r, const sy::Provisioning& p) {
  char line[1200];
  sy::JsonWriter w(line, sizeof line);
  w.open().key("ok").boolean(r.ok);
  if (r.ok) {
    w.key("farm").str(p.farm, 32).key("kind").str(sy::kindName(p.kind), 16).key("device").str(p.device, 32);
    w.key("password").str(p.password, 128).key("tls").boolean(p.tls).key("host").str(p.host, 253).key("port").u64(p.port);
    if (p.hasWifi) w.key("ssid").str(p.ssid, 32).key("wifiPassword").str(p.wifiPassword, 63);
    if (p.hasModem) w.key("apn").str(p.apn, 63).key("modemUser").str(p.modemUser, 63).key("modemPassword").str(p.modemPassword, 63);
  } else {
    w.key("field").str(r.field, 24).key("reason").str(r.reason, 96);
  }
  w.close();
  if (w.finish()) printf("%s\n", line);
}

int checkProvisioning() {
  char buf[16384];
  while (fgets(buf, sizeof buf, stdin)) {
    std::string b64(buf);
    while (!b64.empty() && (b64.back() == '\n' || b64.back() == '\r')) b64.pop_back();
    std::string doc;
    if (!fromBase64(b64, doc)) { puts("{\"ok\":false,\"field\":\"\",\"reason\":\"bad base64\"}"); continue; }
    sy::Provisioning p;
    printVerdict(sy::parseProvisioning(doc.data(), doc.size(), p), p);
  }
  return 0;
}

// --modem-script: AT text on stdin to the SIM7600 stand-in, in one go; its answers on stdout,
// its log lines (violations, refusals) on stderr. For testing the stand-in's own strictness.
int modemScript() {
  LoopLine line;
  FakeSim7600 sim(line, [](const std::string& l) { fprintf(stderr, "%s\n", l.c_str()); });
  int c;
  while ((c = getchar()) != EOF) line.toModem += static_cast<char>(c);
  for (int i = 0; i < 20; i++) {
    sim.loop(1);
    char buf[256];
    size_t n;
    while ((n = line.read(buf, sizeof buf)) > 0) fwrite(buf, 1, n, stdout);
  }
  fflush(stdout);
  return 0;
}

// --provision FILE: the document fills the options a device would otherwise be built with.
bool applyProvisioning(Options& o) {
  FILE* f = fopen(o.provision.c_str(), "rb");
  if (!f) { fprintf(stderr, "cannot read %s\n", o.provision.c_str()); return false; }
  char buf[sy::kProvisionMaxBytes + 2];
  const size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  size_t len = n;
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) len--;  // the CLI ends the line
  sy::Provisioning p;
  const sy::ProvisionResult r = sy::parseProvisioning(buf, len, p);
  printf("{\"ev\":\"provision\",\"ok\":%s,\"field\":\"%s\"}\n", r.ok ? "true" : "false", r.field);
  if (!r.ok) { fprintf(stderr, "provisioning refused: %s %s\n", r.field, r.reason); return false; }
  if (p.tls) { fputs("the host build speaks plain MQTT: provision it with an mqtt:// broker\n", stderr); return false; }
  o.farm = p.farm;
  o.kind = sy::kindName(p.kind);
  o.id = p.device;
  o.password = p.password;
  o.url = std::string("mqtt://") + p.host + ":" + std::to_string(p.port);
  return true;
}

// The AT port's outcomes, to the device (as MosquittoPort's callbacks do).
struct DeviceEvents : sy::MqttEvents {
  sy::Device* dev = nullptr;
  void connected(int64_t t) override { dev->onConnected(t); }
  void connectionLost(int64_t t) override { dev->onConnectionLost(t); }
  void puback(int mid, int64_t t) override { dev->onPuback(mid, t); }
  void message(const char* topic, const char* payload, size_t len, int64_t t) override { dev->onMessage(topic, payload, len, t); }
  // The modem's network clock stands in for SNTP on the 4G path.
  void clock(int64_t epochMs, int64_t t) override {
    dev->onTimeSynced(epochMs, t);
    printf("{\"ev\":\"synced\",\"epoch\":%" PRId64 ",\"mono\":%" PRId64 ",\"via\":\"modem\"}\n", epochMs, t);
  }
};

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  Options o;
  if (!parse(argc, argv, o)) { fputs(usage, stderr); return 2; }
  if (o.samples) return printSamples();
  if (o.checkProvisioning) return checkProvisioning();
  if (o.modemScript) return modemScript();
  if (!o.provision.empty() && !applyProvisioning(o)) return 3;
  sy::DeviceConfig cfg;
  std::string host;
  int port = 0;
  if (!sy::parseKind(o.kind.c_str(), cfg.kind) || !sy::isId(o.farm.c_str()) || !sy::isId(o.id.c_str()) || o.data.empty() ||
      !parseUrl(o.url, host, port) || o.speed <= 0 || (o.link != "mosquitto" && o.link != "sim7600")) {
    fputs(usage, stderr);
    return 2;
  }
  cfg.farm = o.farm.c_str();
  cfg.device = o.id.c_str();
  cfg.password = o.password.c_str();
  cfg.fw = o.fw.c_str();
  cfg.intervalS = o.intervalS;
  cfg.idleIntervalS = o.idleS;
  cfg.replayPerS = o.replayPerS;
  // A connect is given 10 real seconds, whatever the speed (the broker's scrypt check is real).
  cfg.connectTimeoutMs = static_cast<int64_t>(10000 * o.speed);
  const double realNow = HostClock::realWallMs();
  HostClock clock(o.speed, o.epochAtOrigin > 0 ? o.epochAtOrigin : static_cast<int64_t>(realNow),
                  o.originReal > 0 ? o.originReal : static_cast<int64_t>(realNow));

  FileFlash flash;
  FileNvs nvs;
  if (!flash.open(o.data, o.flashKb * 1024, 4096) || !nvs.open(o.data + ".nvs")) {
    fprintf(stderr, "cannot open %s (a flash file of another size?)\n", o.data.c_str());
    return 1;
  }
  FakePlant plant(clock, o.sun);
  plant.setFaultsFile(o.faultsFile);
  plant.setTimeProbe(o.timeProbe);
  plant.reloadFaults();
  MosquittoPort mqtt(host, port);
  // The 4G path: the modem's deadlines are real seconds, so they scale with the speed.
  const bool modem = o.link == "sim7600";
  sy::ModemConfig mcfg;
  mcfg.host = host.c_str();
  mcfg.port = static_cast<uint16_t>(port);
  mcfg.cmdTimeoutMs = static_cast<int64_t>(9000 * o.speed);
  mcfg.connectTimeoutMs = static_cast<int64_t>(30000 * o.speed);
  mcfg.registerTimeoutMs = static_cast<int64_t>(120000 * o.speed);
  mcfg.registerRetryMs = static_cast<int64_t>(1000 * o.speed);
  LoopLine serial;
  FakeSim7600 sim(serial, [](const std::string& line) { printf("%s\n", line.c_str()); });
  sim.setOutageFile(o.modemOutageFile);
  sim.setTrueClock([&clock]() { return clock.trueEpochMs(); });
  sy::AtMqttPort at(serial, mcfg);
  DeviceEvents events;
  LineLog log(clock);
  sy::MqttPort& link = modem ? static_cast<sy::MqttPort&>(at) : static_cast<sy::MqttPort&>(mqtt);
  sy::Device dev(cfg, flash, nvs, link, plant, cfg.kind == sy::Kind::Pump ? &plant : nullptr, &log);
  log.dev = &dev;
  mqtt.attach(&dev, &clock);
  events.dev = &dev;
  at.attach(&events);
  signal(SIGTERM, onSignal);
  signal(SIGINT, onSignal);
  mosquitto_lib_init();
  if (!dev.begin(clock.monoMs())) return 1;
  printf("{\"ev\":\"boot\",\"boot\":%u,\"pending\":%u,\"torn\":%u,\"pid\":%d}\n", dev.boot(), dev.ring().unacked(), dev.ring().tornAtMount(),
         static_cast<int>(getpid()));
  double lastFaultsRead = 0;
  double nextClockAsk = 0;
  while (!stopSignal) {
    if (modem) {
      sim.loop(2);
      at.poll(clock.monoMs());
    } else {
      mqtt.loop(2);
    }
    const int64_t t = clock.monoMs();
    if (modem) {
      // On the 4G path the time comes from the modem (AT+CNTP, AT+CCLK?), asked again every
      // 2 real seconds until the core takes it.
      if (!dev.synced() && t >= o.syncAfterMs && HostClock::realMonoMs() >= nextClockAsk) {
        at.requestClock();
        nextClockAsk = HostClock::realMonoMs() + 2000;
      }
    } else if (!dev.synced() && t >= o.syncAfterMs) {
      const int64_t epoch = clock.trueEpochMs();
      dev.onTimeSynced(epoch, clock.monoMs());
      printf("{\"ev\":\"synced\",\"epoch\":%" PRId64 ",\"mono\":%" PRId64 "}\n", epoch, t);
    }
    if (HostClock::realMonoMs() - lastFaultsRead > 100) {
      plant.reloadFaults();
      lastFaultsRead = HostClock::realMonoMs();
    }
    dev.tick(t, true);
    if (dev.wantsReboot(t)) {
      // As esp_restart(): no DISCONNECT (the broker sends the Will), the ring stays in flash.
      printf("{\"ev\":\"reboot\",\"boot\":%u}\n", dev.boot());
      link.disconnect(false);
      fflush(stdout);
      execv("/proc/self/exe", argv);
      perror("execv");
      return 1;
    }
  }
  dev.shutdown(clock.monoMs());
  if (modem) {
    // The retained {online:false}, then AT+CMQTTDISC and AT+CMQTTREL, for up to 3 real seconds.
    const double until = HostClock::realMonoMs() + 3000;
    while (!at.idle() && HostClock::realMonoMs() < until) {
      sim.loop(2);
      at.poll(clock.monoMs());
    }
    const sy::ModemCounters& c = at.counters();
    printf("{\"ev\":\"modem\",\"what\":\"summary\",\"violations\":%u,\"refused\":%u,\"commands\":%u,\"errors\":%u,\"timeouts\":%u,\"lost\":%u,\"rx_dropped\":%u,\"idle\":%s}\n",
           sim.violations(), sim.stateErrors(), c.commands, c.errors, c.timeouts, c.lost, c.rxDropped, at.idle() ? "true" : "false");
  }
  printf("{\"ev\":\"exit\",\"pending\":%u,\"readings\":%u}\n", dev.ring().unacked(), dev.counters().readings);
  mosquitto_lib_cleanup();
  return 0;
}
