// suanyang-host-device: the firmware core on a POSIX host, against a real broker (libmosquitto),
// with fake sensors, a fake flash file and an accelerated clock. One JSON line per thing that
// happens on stdout, for the integration tests (test/firmware-host.test.ts) and for people.
//   suanyang-host-device --url mqtt://127.0.0.1:1883 --farm F --kind pump --id D --password P
//                        --data /tmp/d.flash [--speed 60] [--sync-after-ms 3000] ...
//   suanyang-host-device --print-samples     every kind of payload the core writes, and exits
#include <signal.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fake_plant.h"
#include "host_clock.h"
#include "json.h"
#include "mosquitto_port.h"
#include "posix_store.h"
#include "samples.h"

namespace {

volatile sig_atomic_t stopSignal = 0;
void onSignal(int) { stopSignal = 1; }

struct Options {
  std::string url = "mqtt://127.0.0.1:1883";
  std::string farm, kind = "pump", id, password, data, faultsFile, fw = "sy-host-1.0.0";
  uint32_t intervalS = 0, idleS = 0, replayPerS = 20, flashKb = 1024;
  double speed = 1, sun = -1;
  int64_t syncAfterMs = 0, epochAtOrigin = 0, originReal = 0;
  bool samples = false, timeProbe = false;
};

const char* usage =
    "usage: suanyang-host-device --farm F --kind pump|soil|waterbank --id D --password P --data FILE\n"
    "  [--url mqtt://host:port] [--interval S] [--idle-interval S] [--speed X] [--sync-after-ms MS]\n"
    "  [--epoch-at-origin MS --origin-real-ms MS] [--sun W/M2] [--faults-file FILE] [--replay-per-s N]\n"
    "  [--flash-kb KB] [--fw VERSION] [--time-probe]\n"
    "  suanyang-host-device --print-samples\n";

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      fputs(usage, stdout);
      exit(0);
    }
    if (a == "--print-samples") { o.samples = true; continue; }
    if (a == "--time-probe") { o.timeProbe = true; continue; }
    if (i + 1 >= argc) return false;
    std::string v = argv[++i];
    if (a == "--url") o.url = v;
    else if (a == "--farm") o.farm = v;
    else if (a == "--kind") o.kind = v;
    else if (a == "--id") o.id = v;
    else if (a == "--password") o.password = v;
    else if (a == "--data") o.data = v;
    else if (a == "--faults-file") o.faultsFile = v;
    else if (a == "--fw") o.fw = v;
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

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  Options o;
  if (!parse(argc, argv, o)) { fputs(usage, stderr); return 2; }
  if (o.samples) return printSamples();
  sy::DeviceConfig cfg;
  std::string host;
  int port = 0;
  if (!sy::parseKind(o.kind.c_str(), cfg.kind) || !sy::isId(o.farm.c_str()) || !sy::isId(o.id.c_str()) || o.data.empty() ||
      !parseUrl(o.url, host, port) || o.speed <= 0) {
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
  LineLog log(clock);
  sy::Device dev(cfg, flash, nvs, mqtt, plant, cfg.kind == sy::Kind::Pump ? &plant : nullptr, &log);
  log.dev = &dev;
  mqtt.attach(&dev, &clock);
  signal(SIGTERM, onSignal);
  signal(SIGINT, onSignal);
  mosquitto_lib_init();
  if (!dev.begin(clock.monoMs())) return 1;
  printf("{\"ev\":\"boot\",\"boot\":%u,\"pending\":%u,\"torn\":%u,\"pid\":%d}\n", dev.boot(), dev.ring().unacked(), dev.ring().tornAtMount(),
         static_cast<int>(getpid()));
  double lastFaultsRead = 0;
  while (!stopSignal) {
    mqtt.loop(2);
    const int64_t t = clock.monoMs();
    if (!dev.synced() && t >= o.syncAfterMs) {
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
      mqtt.disconnect(false);
      fflush(stdout);
      execv("/proc/self/exe", argv);
      perror("execv");
      return 1;
    }
  }
  dev.shutdown(clock.monoMs());
  printf("{\"ev\":\"exit\",\"pending\":%u,\"readings\":%u}\n", dev.ring().unacked(), dev.counters().readings);
  mosquitto_lib_cleanup();
  return 0;
}
